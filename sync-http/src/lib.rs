//! Wire protocol v1 over HTTP: the client [`HttpTransport`] (reqwest) and the server [`router`] (axum) over any
//! [`sync_core::ChangeFeed`].
//!
//! `PROTOCOL.md` at the repository's root is the protocol's reference (formats, cursor semantics, errors, the
//! numbered invariants); this page is its summary.
//!
//! # Endpoints
//! - `GET /sync/{collection}/{integration_id}?since_seq=X&limit=N` → `{"<collection>": [rows], "latest_seq": S,
//!   "has_more": bool, "total_count": T}`, rows in `seq` order, tombstones as `{"id", "integration_id", "seq",
//!   "deleted": true}`. `since_seq` defaults to 0, `limit` to [`ServerConfig::default_limit`] and is clamped to
//!   [`ServerConfig::max_limit`].
//! - `GET /sync/status/{integration_id}` → [`sync_core::ScopeStatus`]: latest seq and live row count per collection.
//! - Live mode (long-poll) of both: add `live=true&timeout=S` (seconds, default 25, at most 60). The page
//!   endpoint answers as soon as the collection has a row after `since_seq`, or with an empty page after the
//!   timeout; the status endpoint as soon as the integration's `latest_seq` passes `since_seq`, or with the
//!   status as it is after the timeout. A wakeup is a hint: rows still come by cursor (see `live.rs` for why
//!   long-poll rather than server-sent events).
//! - `GET /media/{integration_id}/{media_id}` → the bytes of a media file, from the [`MediaSource`] of
//!   [`ServerConfig::media`]: `ETag` (its quoted SHA-256), `Content-Length`, `Accept-Ranges: bytes`; a `Range` of
//!   one span gets 206 with `Content-Range` (how a client resumes), with `If-Range` naming another `ETag` the
//!   whole file (200); never gzip-compressed.
//! - `GET /schema` → the [`sync_core::Schema`] the server serves. `GET /health` → `ok`.
//! - `POST /sync/push/{integration_id}` with a [`sync_core::PushRequest`] → [`sync_core::PushResponse`]: a
//!   client's writes, each applied at most once ([`writable_router`] only; [`router`] answers 405). 400
//!   `invalid_push` (with the `mutation_id` to blame, when one is) refuses the whole push; 403 also answers a
//!   read-only token ([`Access::read_only`]).
//! - `GET /openapi.json` → the OpenAPI 3.1 description of all of the above, generated from the handlers.
//!
//! `total_count` is the number of live (not deleted) rows of the collection in the integration at the time of
//! the request. Stores keep it as a counter updated in the write transaction, so it costs O(1): it is **not** a
//! count of the rows after `since_seq` (counting those on every page would make a full sync quadratic).
//!
//! Every request needs `Authorization: Bearer <token>`; a token grants some integrations (or all). Errors are
//! JSON, `{"error": {"code": "...", "message": "..."}}`: 400 `bad_request`, 401 `unauthorized`, 403 `forbidden`
//! (never data of another integration), 404 `not_found` / `unknown_collection`, 409 `resync_required`, 500
//! `internal`. Responses are gzip-compressed when the client accepts it.
//!
//! # Layout
//! - `client.rs`: [`HttpTransport`], the reqwest implementation of [`sync_core::Transport`].
//! - `server.rs`: [`router`], [`serve`], [`ServerConfig`], [`openapi`]; the handlers and their `#[utoipa::path]`.
//! - `access.rs`: [`Access`], bearer tokens and the integrations they may read.
//! - `openapi.rs`: the fixed parts of the OpenAPI document (security scheme, the page and row schemas).
//! - `push.rs`: the push handler.
//! - `media.rs`: [`MediaSource`], [`MediaFile`] and the media handler (ranges, `If-Range`, streaming from disk).
//! - `media_dir.rs`: [`MediaDir`], files named by their SHA-256, described by a collection of a server store.
//! - `live.rs`: the long-poll handlers over [`sync_core::ChangeFeed::wait_for_seq`].
//! - `error_body.rs`: the JSON error body both sides share.
// Every public item is documented: the crates are published, and `cargo doc` is their manual.
#![deny(missing_docs)]

mod access;
mod client;
mod error_body;
mod live;
mod media;
mod media_dir;
mod openapi;
mod push;
mod server;

pub use access::Access;
pub use client::HttpTransport;
pub use error_body::ErrorBody;
pub use live::{DEFAULT_LIVE_WAIT, MAX_LIVE_WAIT};
pub use media::{MediaFile, MediaSource};
pub use media_dir::MediaDir;
pub use server::{ServerConfig, openapi, router, serve, writable_router};
