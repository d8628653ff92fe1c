//! The reqwest client transport.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Response, Url};
use sync_core::{HeadRead, PageRequest, PushRequest, PushResponse, Schema, ScopeStatus, Transport, TransportError};

use crate::error_body::ErrorBody;

/// Fetches pages, status and schema from a server speaking wire protocol v1.
///
/// It sends the bearer token, accepts gzip (except from a loopback address), bounds bodies, and maps every failure
/// to a [`TransportError`] carrying the HTTP status, the server's error code and `Retry-After`. It does not retry:
/// the engine does.
#[derive(Clone, Debug)]
pub struct HttpTransport {
    client: reqwest::Client,
    base: Url,
    max_body_bytes: usize,
}

const ERROR_BODY_LIMIT: usize = 64 * 1024;

impl HttpTransport {
    /// A transport for the server at `base_url` (e.g. `http://127.0.0.1:8080`), sending `token` as a bearer
    /// token when given. Bodies are limited to 64 MiB; connecting times out after 10 s.
    ///
    /// A server on this machine (`127.0.0.0/8`, `::1`, `localhost`) is not asked for gzip: on loopback,
    /// compressing and inflating every page costs both ends CPU and saves no time (measured: inflating was 11 % of
    /// a client's instructions, and compressing most of the server's CPU).
    pub fn new(base_url: &str, token: Option<&str>) -> Result<Self, TransportError> {
        let mut base = Url::parse(base_url)
            .map_err(|e| TransportError::Protocol(format!("the server URL `{base_url}` is not a valid URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(TransportError::Protocol(format!("the server URL `{base_url}` must be an http(s) URL")));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut headers = HeaderMap::new();
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                TransportError::Protocol("the token contains characters not allowed in a header".into())
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .gzip(!is_loopback(&base))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("sync-http/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TransportError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpTransport { client, base, max_body_bytes: 64 * 1024 * 1024 })
    }

    /// Largest body accepted. Default: 64 MiB.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn get(&self, url: Url) -> Result<Vec<u8>, TransportError> {
        let response = self.client.get(url).send().await.map_err(network)?;
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        read_body(response, self.max_body_bytes).await
    }
}

/// Whether `url` names this machine.
fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => {
            let ip = host.trim_start_matches('[').trim_end_matches(']');
            ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

fn network(e: reqwest::Error) -> TransportError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    TransportError::Network(message)
}

async fn read_body(mut response: Response, limit: usize) -> Result<Vec<u8>, TransportError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(TransportError::TooLarge { limit });
    }
    let mut body = Vec::with_capacity(response.content_length().unwrap_or(16 * 1024).min(limit as u64) as usize);
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > limit {
            return Err(TransportError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn status_error(response: Response) -> TransportError {
    let status = response.status();
    let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    let body = read_body(response, ERROR_BODY_LIMIT).await.unwrap_or_default();
    let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(parsed) => (Some(parsed.error.code), parsed.error.message),
        Err(_) => {
            let text = String::from_utf8_lossy(&body).trim().chars().take(300).collect::<String>();
            let reason = status.canonical_reason().unwrap_or("error").to_owned();
            (None, if text.is_empty() { reason } else { text })
        }
    };
    TransportError::Status { status: status.as_u16(), code, message, retry_after }
}

/// `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past means now.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[async_trait]
impl Transport for HttpTransport {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Vec<u8>, TransportError> {
        let mut url = self.url(&["sync", &request.collection, &request.scope]);
        url.query_pairs_mut()
            .append_pair("since_seq", &request.since_seq.to_string())
            .append_pair("limit", &request.limit.to_string());
        if request.fresh {
            url.query_pairs_mut().append_pair("fresh", "1");
        }
        for value in request.filter.iter().flatten() {
            url.query_pairs_mut().append_pair("filter", value);
        }
        self.get(url).await
    }

    async fn fetch_head(&self, scope: &str, collection: &str, read: &HeadRead) -> Result<Vec<u8>, TransportError> {
        let mut url = self.url(&["sync", collection, scope, "head"]);
        url.query_pairs_mut().append_pair("per_value", &read.per_value.to_string());
        for (value, _) in &read.values {
            url.query_pairs_mut().append_pair("filter", value);
        }
        // Bounds are sent only when one is set, so that a head of the newest rows stays the plain request.
        if read.values.iter().any(|(_, bound)| *bound != i64::MAX) {
            for (_, bound) in &read.values {
                url.query_pairs_mut().append_pair("before", &bound.to_string());
            }
        }
        self.get(url).await
    }

    async fn fetch_status(&self, scope: &str) -> Result<ScopeStatus, TransportError> {
        let body = self.get(self.url(&["sync", "status", scope])).await?;
        serde_json::from_slice(&body).map_err(|e| TransportError::Protocol(format!("the status is not valid: {e}")))
    }

    /// One long-poll: `GET /sync/status/{scope}?live=true&since_seq=…&timeout=…`.
    async fn wait_for_change(
        &self,
        scope: &str,
        after_seq: i64,
        timeout: Duration,
    ) -> Result<ScopeStatus, TransportError> {
        let mut url = self.url(&["sync", "status", scope]);
        url.query_pairs_mut()
            .append_pair("live", "true")
            .append_pair("since_seq", &after_seq.to_string())
            .append_pair("timeout", &format!("{:.3}", timeout.as_secs_f64()));
        let body = self.get(url).await?;
        serde_json::from_slice(&body).map_err(|e| TransportError::Protocol(format!("the status is not valid: {e}")))
    }

    async fn fetch_schema(&self) -> Result<Schema, TransportError> {
        let body = self.get(self.url(&["schema"])).await?;
        let text = String::from_utf8_lossy(&body);
        Schema::from_json(&text)
            .map_err(|e| TransportError::Protocol(format!("the server's schema is not usable: {e}")))
    }

    /// `POST /sync/push/{scope}` with the request as JSON.
    async fn push(&self, scope: &str, request: &PushRequest) -> Result<PushResponse, TransportError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| TransportError::Protocol(format!("cannot encode the push: {e}")))?;
        let url = self.url(&["sync", "push", scope]);
        let response =
            self.client.post(url).header(CONTENT_TYPE, "application/json").body(body).send().await.map_err(network)?;
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        let body = read_body(response, self.max_body_bytes).await?;
        serde_json::from_slice(&body)
            .map_err(|e| TransportError::Protocol(format!("the push's answer is not valid: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 12 "), Some(Duration::from_secs(12)));
        let in_a_minute = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(60));
        let parsed = parse_retry_after(&in_a_minute).expect("a date");
        assert!(parsed > Duration::from_secs(50) && parsed <= Duration::from_secs(60), "{parsed:?}");
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn loopback_hosts() {
        let loopback = |url: &str| is_loopback(&Url::parse(url).expect("a URL"));
        for url in ["http://127.0.0.1:8080", "http://127.1.2.3/", "http://[::1]:80/x", "http://LOCALHOST:1"] {
            assert!(loopback(url), "{url}");
        }
        let remote = ["http://10.0.0.1", "https://example.com", "http://[2001:db8::1]/", "http://localhost.evil.com"];
        for url in remote {
            assert!(!loopback(url), "{url}");
        }
    }
}
