//! The JSON error body of every non-2xx answer.

use serde::{Deserialize, Serialize};

/// `{"error": {"code": "...", "message": "..."}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    /// What went wrong and what to do, for a human.
    pub message: String,
    /// For a refused push (`invalid_push`): the mutation to blame, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutation_id: Option<u64>,
}

impl ErrorBody {
    /// A body with `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.into(), mutation_id: None } }
    }
}
