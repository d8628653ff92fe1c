//! Failures as JavaScript errors: `error.code` is the failure's [`ErrorCode`] as text (`network`, `timeout`,
//! `unauthorized`, ...: the list is in README.md, checked by a test below), and `error.message` is the Rust
//! error's message with its cause and what to do.

use std::future::Future;

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{Env, JsError};
use sync_client::ErrorCode;

/// A failure on its way to JavaScript.
#[derive(Debug)]
pub(crate) struct Failure {
    code: ErrorCode,
    message: String,
}

impl Failure {
    /// A failure with its code.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }

    /// A bad argument from JavaScript.
    pub(crate) fn argument(message: impl Into<String>) -> Self {
        Failure::new(ErrorCode::InvalidArgument, message)
    }

    /// An `Error` object whose `code` property is the failure's code.
    fn into_js(self, env: Env) -> napi::Error {
        let error = napi::Error::new(self.code.as_str().to_owned(), self.message);
        napi::Error::from(JsError::from(error).into_unknown(env))
    }
}

impl From<sync_client::Error> for Failure {
    fn from(e: sync_client::Error) -> Self {
        Failure { code: e.code(), message: e.to_string() }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_javascript_can_see_is_documented_in_the_readme_and_typed() {
        let readme = include_str!("../README.md");
        // The `SyncErrorCode` union that TypeScript programs match on.
        let typed = include_str!("../sync.d.ts");
        for code in ErrorCode::ALL {
            assert!(readme.contains(&format!("`{code}`")), "README.md does not document the code `{code}`");
            assert!(typed.contains(&format!("'{code}'")), "sync.d.ts's SyncErrorCode lacks '{code}'");
        }
    }
}
