//! [`CancelToken`]: cancels the syncs it was given to. The package's wrapper cancels one when an `AbortSignal`
//! aborts.

use napi_derive::napi;
use sync_core::CancellationToken;

/// Cancels a sync between pages; the page being written completes (it is atomic), and the next sync resumes.
#[napi]
pub struct CancelToken {
    pub(crate) inner: CancellationToken,
}

#[napi]
impl CancelToken {
    /// Cancels every sync this token was passed to. Idempotent.
    #[napi]
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether [`CancelToken::cancel`] was called (or the engine was closed).
    #[napi(getter)]
    pub fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}
