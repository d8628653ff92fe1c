//! Bearer tokens and the integrations each may read.

use std::collections::{HashMap, HashSet};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::server::error;

/// Which integrations each bearer token may read.
#[derive(Clone, Debug, Default)]
pub struct Access {
    tokens: HashMap<String, Grant>,
}

#[derive(Clone, Debug)]
enum Grant {
    All,
    Scopes(HashSet<String>),
}

impl Access {
    /// No token is valid yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `token` may read `scopes`.
    pub fn grant(mut self, token: &str, scopes: &[&str]) -> Self {
        let entry = self.tokens.entry(token.to_owned()).or_insert_with(|| Grant::Scopes(HashSet::new()));
        if let Grant::Scopes(set) = entry {
            set.extend(scopes.iter().map(|s| (*s).to_owned()));
        }
        self
    }

    /// `token` may read every integration (an operator's token).
    pub fn grant_all(mut self, token: &str) -> Self {
        self.tokens.insert(token.to_owned(), Grant::All);
        self
    }

    pub(crate) fn check(&self, headers: &HeaderMap, scope: Option<&str>) -> Result<(), Denied> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let grant = match token {
            None => return Err(Denied::Unauthorized("missing `Authorization: Bearer <token>` header")),
            Some(t) => self.tokens.get(t).ok_or(Denied::Unauthorized("unknown token"))?,
        };
        match (grant, scope) {
            (Grant::Scopes(set), Some(scope)) if !set.contains(scope) => Err(Denied::Forbidden),
            _ => Ok(()),
        }
    }
}

/// Why a request was refused before it reached the feed.
pub(crate) enum Denied {
    Unauthorized(&'static str),
    Forbidden,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Unauthorized(why) => error(StatusCode::UNAUTHORIZED, "unauthorized", why),
            Denied::Forbidden => error(StatusCode::FORBIDDEN, "forbidden", "this token may not read that integration"),
        }
    }
}
