//! The OpenAPI 3.1 description of the router, served at `GET /openapi.json`.
//!
//! Paths, parameters and responses come from the `#[utoipa::path]` attribute of each handler in `server.rs`, and
//! the routes are registered from those same attributes (`utoipa_axum::routes!`), so a route cannot exist without
//! its description. The schemas of the status and schema bodies are derived from the `sync-core` types (feature
//! `openapi`); a page is written by the wire codec rather than serde, so its schema is spelled out here and the
//! tests validate real pages against it.

use std::borrow::Cow;

use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::ErrorBody;

/// The document's fixed parts; `server::api` adds the paths.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "seqsync wire protocol v1",
        description = "Pages of rows in the order of a server-assigned `seq`, per collection and integration. \
                       Every error is JSON: `{\"error\": {\"code\", \"message\"}}`."
    ),
    components(schemas(ErrorBody, Page, Row, FilterValue)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub(crate) struct ApiDoc;

/// Adds the `bearer` security scheme the `security` requirement above names.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("a token granted some integrations (or all) by the server's `--token` flags"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

fn integer(min: f64, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
        .minimum(Some(min))
        .description(Some(description))
}

/// The body of `GET /sync/{collection}/{integration_id}`: the rows under the collection's name, plus the cursor
/// fields.
pub(crate) struct Page;

impl PartialSchema for Page {
    fn schema() -> RefOr<Schema> {
        let rows = ArrayBuilder::new().items(Row::schema()).description(Some(
            "under the collection's name (the only other key): the rows with `seq > since_seq`, in `seq` order",
        ));
        ObjectBuilder::new()
            .property(
                "latest_seq",
                integer(0.0, "the seq of the last row of this page, or `since_seq` when it is empty"),
            )
            .property(
                "has_more",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .description(Some("more rows follow after `latest_seq`")),
            )
            .property("total_count", integer(0.0, "live rows of the collection in the integration (not the rows left)"))
            .required("latest_seq")
            .required("has_more")
            .required("total_count")
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::Array(rows.build())))))
            .into()
    }
}

impl ToSchema for Page {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Page")
    }
}

/// A row of a page: the key, the scope, the seq and the declared columns; or a tombstone.
pub(crate) struct Row;

impl PartialSchema for Row {
    fn schema() -> RefOr<Schema> {
        let text = || ObjectBuilder::new().schema_type(Type::String);
        ObjectBuilder::new()
            .description(Some(
                "the declared columns (see `GET /schema`) follow the fixed keys; a tombstone has only the fixed keys",
            ))
            .property("id", text())
            .property("integration_id", text())
            .property("seq", integer(1.0, "server-assigned, strictly increasing within the integration"))
            .property("deleted", ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([true])))
            .required("id")
            .required("integration_id")
            .required("seq")
            // Column values: text, numbers, booleans, null, or JSON values.
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl ToSchema for Row {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Row")
    }
}

/// One value of the repeated `filter` parameter: a non-empty string (an empty one is answered 400).
pub(crate) struct FilterValue;

impl PartialSchema for FilterValue {
    fn schema() -> RefOr<Schema> {
        let value = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .description(Some("a value of the collection's filter column"));
        RefOr::T(Schema::Object(value.build()))
    }
}

impl ToSchema for FilterValue {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("FilterValue")
    }
}
