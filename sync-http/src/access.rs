//! Bearer tokens, the integrations each may read, and whether it may also push writes to them.

use std::collections::{HashMap, HashSet};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::server::error;

/// Which integrations each bearer token may read, and whether it may push client writes to them (every grant
/// may, except the read-only ones).
#[derive(Clone, Debug, Default)]
pub struct Access {
    tokens: HashMap<String, (Grant, Mode)>,
}

#[derive(Clone, Debug)]
enum Grant {
    All,
    Scopes(HashSet<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    ReadWrite,
    ReadOnly,
}

impl Access {
    /// No token is valid yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `token` may read `scopes` and push writes to them.
    pub fn grant(mut self, token: &str, scopes: &[&str]) -> Self {
        let entry =
            self.tokens.entry(token.to_owned()).or_insert_with(|| (Grant::Scopes(HashSet::new()), Mode::ReadWrite));
        if let Grant::Scopes(set) = &mut entry.0 {
            set.extend(scopes.iter().map(|s| (*s).to_owned()));
        }
        self
    }

    /// `token` may read every integration and push to any (an operator's token).
    pub fn grant_all(mut self, token: &str) -> Self {
        let mode = self.tokens.get(token).map_or(Mode::ReadWrite, |(_, mode)| *mode);
        self.tokens.insert(token.to_owned(), (Grant::All, mode));
        self
    }

    /// Makes `token` (granted by [`Access::grant`] or [`Access::grant_all`]) read-only: its pushes are refused
    /// with 403.
    pub fn read_only(mut self, token: &str) -> Self {
        if let Some((_, mode)) = self.tokens.get_mut(token) {
            *mode = Mode::ReadOnly;
        }
        self
    }

    /// [`Access::check`] for a push: the token must also not be read-only.
    pub(crate) fn check_write(&self, headers: &HeaderMap, scope: &str) -> Result<(), Denied> {
        match self.check(headers, Some(scope)) {
            Ok(Mode::ReadOnly) => Err(Denied::ReadOnly),
            Ok(Mode::ReadWrite) => Ok(()),
            Err(denied) => Err(denied),
        }
    }

    /// The token's mode when it may read `scope` (or anything, for `None`).
    pub(crate) fn check(&self, headers: &HeaderMap, scope: Option<&str>) -> Result<Mode, Denied> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let (grant, mode) = match token {
            None => return Err(Denied::Unauthorized("missing `Authorization: Bearer <token>` header")),
            Some(t) => self.tokens.get(t).ok_or(Denied::Unauthorized("unknown token"))?,
        };
        match (grant, scope) {
            (Grant::Scopes(set), Some(scope)) if !set.contains(scope) => Err(Denied::Forbidden),
            _ => Ok(*mode),
        }
    }
}

/// Why a request was refused before it reached the feed.
pub(crate) enum Denied {
    Unauthorized(&'static str),
    Forbidden,
    ReadOnly,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Unauthorized(why) => error(StatusCode::UNAUTHORIZED, "unauthorized", why),
            Denied::Forbidden => error(StatusCode::FORBIDDEN, "forbidden", "this token may not read that integration"),
            Denied::ReadOnly => error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this token is read-only: it may read this integration but not push writes to it",
            ),
        }
    }
}
