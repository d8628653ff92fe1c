//! Failures as JavaScript errors: `error.code` is one of the stable codes of [`SyncError::code`] and
//! [`StoreError::code`] (network, timeout, unauthorized, forbidden, not_found, bad_request, rate_limited, server,
//! resync_required, protocol, bad_page, store, schema, cancelled, invalid_query, closed) or `invalid_argument`,
//! and `error.message` is the Rust error's message with its cause.

use std::future::Future;

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{Env, JsError};
use sync_core::{StoreError, SyncError};

/// A failure on its way to JavaScript.
#[derive(Debug)]
pub(crate) struct Failure {
    code: &'static str,
    message: String,
}

impl Failure {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }

    /// A bad argument from JavaScript.
    pub(crate) fn argument(message: impl Into<String>) -> Self {
        Failure::new("invalid_argument", message)
    }

    pub(crate) fn closed() -> Self {
        Failure::new("closed", "the engine is closed (open a new one)")
    }

    /// An `Error` object whose `code` property is the failure's code.
    fn into_js(self, env: Env) -> napi::Error {
        let error = napi::Error::new(self.code.to_owned(), self.message);
        napi::Error::from(JsError::from(error).into_unknown(env))
    }
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        Failure::new(e.code(), e.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::new(e.code(), e.to_string())
    }
}

/// Runs `work` on the addon's tokio runtime and returns a Promise of its result, converted by `to_js` on the
/// JavaScript thread; a [`Failure`] rejects the Promise with an `Error` carrying its `code`.
pub(crate) fn promise<'env, T, V>(
    env: &'env Env,
    work: impl Future<Output = Result<T, Failure>> + Send + 'static,
    to_js: impl FnOnce(T) -> Result<V, Failure> + 'static,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
{
    env.spawn_future_with_callback(async move { Ok(work.await) }, move |env, result| {
        result.and_then(to_js).map_err(|failure| failure.into_js(*env))
    })
}
