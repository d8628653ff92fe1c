//! `GET /media/{integration_id}/{media_id}`: a media file's bytes, resumable with `Range`.
//!
//! The router does not know where files live: a [`MediaSource`] (given in [`crate::ServerConfig::media`]) maps a
//! media id of an integration to a file, its size and its SHA-256, which is also the strong `ETag`. Access is
//! checked first, with the same rules as every other endpoint, and the source looks the id up *within* the
//! integration, so a token never reaches another integration's bytes.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_core::FeedError;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::server::{AppState, bad_request, error, feed_error};

/// A media file as the server stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaFile {
    /// Where the bytes are.
    pub path: PathBuf,
    /// Its length in bytes, as its record says.
    pub size: u64,
    /// Its SHA-256, 64 lowercase hex digits, as its record says; served as the `ETag`.
    pub sha256: String,
    /// Its MIME type (`application/octet-stream` when unknown).
    pub content_type: String,
}

/// Where the media files of each integration are.
#[async_trait]
pub trait MediaSource: Send + Sync {
    /// The file of media `media_id` in integration `scope`, or `None` when the integration has no such media (or
    /// has it but without a file). Must look the id up within `scope` only.
    async fn locate(&self, scope: &str, media_id: &str) -> Result<Option<MediaFile>, FeedError>;
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    Unsatisfiable,
}

/// Reads `Range` (one range of bytes; anything else is answered whole, as RFC 9110 allows) and `If-Range` (a
/// different validator means the client's partial copy is stale: it gets the whole file).
fn wanted(headers: &HeaderMap, size: u64, etag: &str) -> Wanted {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else { return Wanted::Whole };
    if headers.get(header::IF_RANGE).is_some_and(|v| v.as_bytes() != etag.as_bytes()) {
        return Wanted::Whole;
    }
    let Some(spec) = range.trim().strip_prefix("bytes=") else { return Wanted::Whole };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else { return Wanted::Whole };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.parse::<u64>(), last.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => Some((start, end.min(size.saturating_sub(1)))),
        (Ok(start), Err(_)) if last.is_empty() => Some((start, size.saturating_sub(1))),
        (Err(_), Ok(suffix)) if first.is_empty() && suffix > 0 => {
            Some((size.saturating_sub(suffix), size.saturating_sub(1)))
        }
        _ => return Wanted::Whole,
    };
    match parsed {
        Some((start, end)) if size > 0 && start < size => Wanted::Part(start, end),
        _ => Wanted::Unsatisfiable,
    }
}

/// The bytes of one media file of an integration.
#[utoipa::path(get, path = "/media/{integration_id}/{media_id}",
    params(
        ("integration_id" = String, Path, description = "the integration (scope)"),
        ("media_id" = String, Path, description = "the `id` of a `message_media` row of that integration"),
        ("Range" = Option<String>, Header, description = "`bytes=START-` (or `START-END`, `-SUFFIX`): resume a partial download"),
        ("If-Range" = Option<String>, Header, description = "the `ETag` the partial copy came with: a different file is sent whole (200)"),
    ),
    responses(
        (status = 200, description = "the whole file; `ETag` is its quoted SHA-256, `Accept-Ranges: bytes`", content_type = "application/octet-stream"),
        (status = 206, description = "the requested range, with `Content-Range`", content_type = "application/octet-stream"),
        (status = 400, description = "an undecodable path", body = crate::ErrorBody),
        (status = 401, description = "missing or unknown token", body = crate::ErrorBody),
        (status = 403, description = "the token may not read this integration", body = crate::ErrorBody),
        (status = 404, description = "no such media in this integration, or its record names no file (no size or SHA-256)", body = crate::ErrorBody),
        (status = 416, description = "the range starts past the end of the file (`Content-Range: bytes */SIZE`)", body = crate::ErrorBody),
        (status = 500, description = "the store failed, or the file is missing or does not match its record", body = crate::ErrorBody),
    ))]
pub(crate) async fn media(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let (scope, media_id) = match path {
        Ok(Path(path)) => path,
        Err(e) => return bad_request(e),
    };
    if let Err(denied) = state.config.access.check(&headers, Some(&scope)) {
        return denied.into_response();
    }
    let Some(source) = &state.config.media else {
        return error(StatusCode::NOT_FOUND, "not_found", "this server serves no media files");
    };
    let file = match source.locate(&scope, &media_id).await {
        Ok(Some(file)) => file,
        Ok(None) => {
            let why = format!("integration {scope:?} has no media {media_id:?} with a file on this server");
            return error(StatusCode::NOT_FOUND, "not_found", why);
        }
        Err(e) => return feed_error(e),
    };
    match send(&file, &headers).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(path = %file.path.display(), error = %e, "media file unreadable or not as recorded");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the media file is missing or damaged on the server")
        }
    }
}

/// The response for `file`, streamed from disk (memory stays flat whatever the size).
async fn send(file: &MediaFile, headers: &HeaderMap) -> std::io::Result<Response> {
    let mut handle = tokio::fs::File::open(&file.path).await?;
    let size = handle.metadata().await?.len();
    if size != file.size {
        return Err(std::io::Error::other(format!("{size} bytes on disk, {} in the record", file.size)));
    }
    let etag = format!("\"{}\"", file.sha256);
    let (status, start, len) = match wanted(headers, size, &etag) {
        Wanted::Whole => (StatusCode::OK, 0, size),
        Wanted::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Wanted::Unsatisfiable => {
            let mut response =
                error(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable", format!("the file has {size} bytes"));
            response.headers_mut().insert(header::CONTENT_RANGE, value(&format!("bytes */{size}")));
            return Ok(response);
        }
    };
    handle.seek(SeekFrom::Start(start)).await?;
    let body = Body::from_stream(ReaderStream::with_capacity(handle.take(len), 256 * 1024));
    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, value(&file.content_type));
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    out.insert(header::ETAG, value(&etag));
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=0"));
    if status == StatusCode::PARTIAL_CONTENT {
        out.insert(header::CONTENT_RANGE, value(&format!("bytes {start}-{}/{size}", start + len - 1)));
    }
    Ok(response)
}

/// A header value from text the server wrote; a MIME type from a record with bytes a header cannot carry becomes
/// the generic one.
fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(range: &str, if_range: Option<&str>) -> Wanted {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(range).expect("header"));
        if let Some(tag) = if_range {
            headers.insert(header::IF_RANGE, HeaderValue::from_str(tag).expect("header"));
        }
        wanted(&headers, 100, "\"abc\"")
    }

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(ask("bytes=10-", None), Wanted::Part(10, 99));
        assert_eq!(ask("bytes=10-19", None), Wanted::Part(10, 19));
        assert_eq!(ask("bytes=90-500", None), Wanted::Part(90, 99));
        assert_eq!(ask("bytes=-5", None), Wanted::Part(95, 99));
        assert_eq!(ask("bytes=-500", None), Wanted::Part(0, 99));
        assert_eq!(ask("bytes=100-", None), Wanted::Unsatisfiable);
        assert_eq!(ask("bytes=0-1,5-6", None), Wanted::Whole);
        assert_eq!(ask("bytes=9-3", None), Wanted::Whole);
        assert_eq!(ask("items=1-2", None), Wanted::Whole);
        assert_eq!(ask("bytes=10-", Some("\"abc\"")), Wanted::Part(10, 99));
        assert_eq!(ask("bytes=10-", Some("\"old\"")), Wanted::Whole, "a stale partial copy gets the whole file");
    }
}
