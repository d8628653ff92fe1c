//! `POST /sync/push/{integration_id}`: a client's writes, applied by the server store (see
//! [`sync_core::ServerStore::push`] for the contract and [`sync_core::apply_push`] for the conflict policy).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sync_core::{FeedError, MAX_PUSH_BYTES, PushRequest, PushResponse};

use crate::error_body::ErrorBody;
use crate::server::{AppState, bad_request, error, feed_error};

/// The whole request refused: 400 `invalid_push`, naming the mutation when one is to blame.
fn invalid(mutation_id: Option<u64>, message: String) -> Response {
    let mut body = ErrorBody::new("invalid_push", message);
    body.error.mutation_id = mutation_id;
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// Applies a client's mutations, each at most once, in one transaction.
#[utoipa::path(post, path = "/sync/push/{integration_id}",
    params(("integration_id" = String, Path, description = "the integration (scope)")),
    request_body(content = PushRequest, description = "the client's id and its mutations in strictly increasing \
        `mutation_id`; at most 1,000 mutations and 4 MiB",
        // A push any schema with a writable `messages` collection accepts (a delete of a row that may not exist is
        // applied as a no-op): generated checks start from one valid request, not only from refused ones.
        example = json!({"client_id": "example-client", "mutations": [
            {"mutation_id": 1, "collection": "messages", "id": "example-message", "op": "delete", "fields": {}}
        ]})),
    responses(
        (status = 200, description = "every mutation processed: one result per mutation, in order (`applied`, \
            `already_applied` for a retry, or `rejected` with a code)", body = PushResponse),
        (status = 400, description = "`invalid_push`: a malformed body, an unknown or read-only collection or \
            field, a wrong type, a missing required field, ids not increasing, too many mutations or bytes; \
            nothing was applied (`mutation_id` names the mutation to blame)", body = ErrorBody),
        (status = 401, description = "missing or unknown token", body = ErrorBody),
        (status = 403, description = "the token may not read this integration, or is read-only", body = ErrorBody),
        (status = 405, description = "`read_only_server`: this server takes no client writes", body = ErrorBody),
        (status = 500, description = "the store failed; nothing was applied", body = ErrorBody),
    ))]
pub(crate) async fn push(
    State(state): State<Arc<AppState>>,
    scope: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Path(scope) = match scope {
        Ok(scope) => scope,
        Err(e) => return bad_request(e),
    };
    if let Err(denied) = state.config.access.check_write(&headers, &scope) {
        return denied.into_response();
    }
    let Some(store) = &state.store else {
        return error(StatusCode::METHOD_NOT_ALLOWED, "read_only_server", "this server takes no client writes");
    };
    let body = match body {
        Ok(body) if body.len() <= MAX_PUSH_BYTES => body,
        Ok(_) | Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
            return invalid(None, format!("the body is over {MAX_PUSH_BYTES} bytes: push fewer mutations at a time"));
        }
        Err(e) => return invalid(None, format!("the body could not be read: {e}")),
    };
    let request: PushRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return invalid(None, format!("the body is not a push (`{{client_id, mutations}}`): {e}")),
    };
    match store.push(&scope, request).await {
        Ok(response) => axum::Json(response).into_response(),
        Err(FeedError::InvalidPush { mutation_id, message }) => invalid(mutation_id, message),
        Err(e) => feed_error(e),
    }
}
