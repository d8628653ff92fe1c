//! Collection schemas: declared once, serialised as JSON, and used by every store and by the page codec.

use serde::{Deserialize, Serialize};

use crate::error::SchemaError;

/// Columns every collection has implicitly; declared columns may not reuse these names.
pub const RESERVED_COLUMNS: [&str; 4] = ["id", "integration_id", "seq", "deleted"];

/// The page size used for a collection that declares none and is not configured otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 500;

/// All collections a scope syncs, in the order a sync visits them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The collections, in sync order (parents before children, as the seed does).
    pub collections: Vec<Collection>,
}

/// One synced table. Besides its declared columns it always has `id` (text key), `integration_id` and `seq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Collection {
    /// Table name, also the key of the rows array in a page.
    pub name: String,
    /// Declared columns, in wire and storage order.
    pub columns: Vec<Column>,
    /// Secondary indexes a client store builds (the `(integration_id, seq)` index is always there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// Text columns a store may index for full-text search.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub full_text: Vec<String>,
    /// Rows per page a client asks for unless configured otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
    /// Whether clients may write rows of this collection (push mutations); read-only when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub writable: bool,
    /// The column a client may subscribe by (selective sync: a set of its values), or `id` for a collection
    /// filtered by its own key. A collection without one is synced whole by every subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// A declared column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Column name: lowercase ASCII letters, digits and `_`, not starting with a digit.
    pub name: String,
    /// Value type on the wire and in storage.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Whether `null` (or a missing field) is allowed. Defaults to true.
    #[serde(default = "yes")]
    pub nullable: bool,
    /// The collection whose `id` this column holds, if any; drives cascading deletes on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
}

fn yes() -> bool {
    true
}

/// Column value types. Timestamps travel and are stored as Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// UTF-8 text.
    Text,
    /// 64-bit signed integer.
    Integer,
    /// 64-bit float.
    Real,
    /// `true`/`false` on the wire, 0/1 in SQLite.
    Boolean,
    /// Unix milliseconds (integer).
    Timestamp,
    /// Any JSON value; TEXT on SQLite, JSONB on PostgreSQL.
    Json,
}

/// A secondary index over one or more columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// Indexed columns, in order; declared columns or `seq`.
    pub columns: Vec<String>,
}

impl Column {
    /// A nullable column of type `ty`.
    pub fn new(name: &str, ty: ColumnType) -> Self {
        Column { name: name.to_owned(), ty, nullable: true, references: None }
    }

    /// Marks the column NOT NULL.
    pub fn required(mut self) -> Self {
        self.nullable = false;
        self
    }

    /// Declares that the column holds an `id` of `collection` (deleting that row cascades here).
    pub fn references(mut self, collection: &str) -> Self {
        self.references = Some(collection.to_owned());
        self
    }
}

impl Collection {
    /// A collection with the given columns and no indexes.
    pub fn new(name: &str, columns: Vec<Column>) -> Self {
        Collection {
            name: name.to_owned(),
            columns,
            indexes: Vec::new(),
            full_text: Vec::new(),
            page_size: None,
            writable: false,
            filter: None,
        }
    }

    /// Adds a secondary index.
    pub fn index(mut self, columns: &[&str]) -> Self {
        self.indexes.push(Index { columns: columns.iter().map(|c| (*c).to_owned()).collect() });
        self
    }

    /// Sets the default page size.
    pub fn page_size(mut self, rows: usize) -> Self {
        self.page_size = Some(rows);
        self
    }

    /// Lets clients write rows of this collection.
    pub fn writable(mut self) -> Self {
        self.writable = true;
        self
    }

    /// Declares the column clients subscribe by (a declared text column, or `id`).
    pub fn filter(mut self, column: &str) -> Self {
        self.filter = Some(column.to_owned());
        self
    }

    /// Declares full-text columns.
    pub fn full_text(mut self, columns: &[&str]) -> Self {
        self.full_text = columns.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// Position of a declared column.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// A stable name for the secondary index over `columns`.
    pub fn index_name(&self, index: &Index) -> String {
        format!("idx_{}_{}", self.name, index.columns.join("_"))
    }
}

impl Schema {
    /// Builds a schema and checks it (see [`Schema::validate`]).
    pub fn new(collections: Vec<Collection>) -> Result<Self, SchemaError> {
        let schema = Schema { collections };
        schema.validate()?;
        Ok(schema)
    }

    /// Parses and checks a schema from its JSON form.
    pub fn from_json(text: &str) -> Result<Self, SchemaError> {
        let schema: Schema = serde_json::from_str(text).map_err(|e| SchemaError::Json(e.to_string()))?;
        schema.validate()?;
        Ok(schema)
    }

    /// The schema's JSON form, as a server publishes it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Looks a collection up by name.
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }

    /// Checks names (they become SQL identifiers), duplicates, indexes and references.
    pub fn validate(&self) -> Result<(), SchemaError> {
        if self.collections.is_empty() {
            return Err(SchemaError::Invalid("a schema needs at least one collection".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.collections {
            check_ident(&c.name, "collection")?;
            if !seen.insert(c.name.as_str()) {
                return Err(SchemaError::Invalid(format!("collection `{}` is declared twice", c.name)));
            }
            if c.page_size == Some(0) {
                return Err(SchemaError::Invalid(format!("collection `{}` has page_size 0", c.name)));
            }
            let mut cols = std::collections::HashSet::new();
            for col in &c.columns {
                check_ident(&col.name, "column")?;
                if RESERVED_COLUMNS.contains(&col.name.as_str()) {
                    return Err(SchemaError::Invalid(format!(
                        "column `{}.{}` uses a reserved name (id, integration_id, seq and deleted are implicit)",
                        c.name, col.name
                    )));
                }
                if !cols.insert(col.name.as_str()) {
                    return Err(SchemaError::Invalid(format!("column `{}.{}` is declared twice", c.name, col.name)));
                }
                if let Some(target) = &col.references
                    && !self.collections.iter().any(|o| &o.name == target)
                {
                    return Err(SchemaError::Invalid(format!(
                        "column `{}.{}` references unknown collection `{target}`",
                        c.name, col.name
                    )));
                }
            }
            for index in &c.indexes {
                if index.columns.is_empty() {
                    return Err(SchemaError::Invalid(format!("an index of `{}` has no columns", c.name)));
                }
                for name in &index.columns {
                    if name != "seq" && !cols.contains(name.as_str()) {
                        return Err(SchemaError::Invalid(format!(
                            "an index of `{}` names unknown column `{name}`",
                            c.name
                        )));
                    }
                }
            }
            if let Some(filter) = &c.filter {
                let text = c.column_index(filter).map(|i| c.columns[i].ty) == Some(ColumnType::Text);
                if filter != "id" && !text {
                    return Err(SchemaError::Invalid(format!(
                        "the filter column `{}.{filter}` must be `id` or a declared text column",
                        c.name
                    )));
                }
            }
            for name in &c.full_text {
                match c.column_index(name).map(|i| c.columns[i].ty) {
                    Some(ColumnType::Text) => {}
                    _ => {
                        return Err(SchemaError::Invalid(format!(
                            "full-text column `{}.{name}` must be a declared text column",
                            c.name
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_ident(name: &str, what: &str) -> Result<(), SchemaError> {
    let mut chars = name.chars();
    let ok = name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(SchemaError::Invalid(format!(
            "{what} name `{name}` is not allowed: use 1-63 lowercase ASCII letters, digits or `_`, not starting with a digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Schema {
        Schema::new(vec![
            Collection::new("notes", vec![Column::new("body", ColumnType::Text)]).index(&["body"]),
            Collection::new("tags", vec![Column::new("note_id", ColumnType::Text).references("notes")]),
        ])
        .expect("valid")
    }

    #[test]
    fn json_round_trip_keeps_everything() {
        let schema = sample();
        assert_eq!(Schema::from_json(&schema.to_json()).expect("parses"), schema);
    }

    #[test]
    fn rejects_bad_declarations() {
        let bad = |c: Collection| Schema::new(vec![c]).expect_err("must be rejected").to_string();
        assert!(bad(Collection::new("Bad Name", vec![])).contains("not allowed"));
        assert!(bad(Collection::new("t", vec![Column::new("seq", ColumnType::Integer)])).contains("reserved"));
        assert!(bad(Collection::new("t", vec![]).index(&["nope"])).contains("unknown column"));
        assert!(
            bad(Collection::new("t", vec![Column::new("x", ColumnType::Text).references("zzz")]))
                .contains("unknown collection")
        );
        assert!(
            bad(Collection::new("t", vec![Column::new("n", ColumnType::Integer)]).full_text(&["n"]))
                .contains("full-text")
        );
        assert!(bad(Collection::new("t", vec![Column::new("n", ColumnType::Integer)]).filter("n")).contains("filter"));
        assert!(bad(Collection::new("t", vec![]).filter("nope")).contains("filter"));
        assert!(Schema::new(vec![Collection::new("t", vec![]).filter("id")]).is_ok());
        assert!(Schema::from_json("{\"collections\": 3}").is_err());
    }
}
