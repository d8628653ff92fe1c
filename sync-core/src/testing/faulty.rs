//! A transport wrapper that fails on a script, to exercise retries.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::error::TransportError;
use crate::mutation::{PushRequest, PushResponse};
use crate::page::{PageRequest, ScopeStatus};
use crate::schema::Schema;
use crate::transport::Transport;

/// What the next page request does.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Fail with this error.
    Fail(TransportError),
    /// Never answer (the engine's timeout must fire).
    Hang,
    /// Answer with this body instead of the real one.
    Body(Vec<u8>),
}

/// What the next push does.
#[derive(Clone, Debug)]
pub enum PushFault {
    /// Fail with this error, sending nothing.
    Fail(TransportError),
    /// Send the push, then lose the answer (a network error): the server applied it, the client does not know.
    LoseAnswer,
}

/// Wraps a transport; page requests and pushes consume their scripted faults first, then pass through.
pub struct FaultyTransport<T> {
    inner: T,
    faults: Mutex<VecDeque<Fault>>,
    push_faults: Mutex<VecDeque<PushFault>>,
    page_calls: AtomicUsize,
    push_calls: AtomicUsize,
}

impl<T> FaultyTransport<T> {
    /// Wraps `inner` with the faults to inject, in order.
    pub fn new(inner: T, faults: Vec<Fault>) -> Self {
        FaultyTransport {
            inner,
            faults: Mutex::new(faults.into()),
            push_faults: Mutex::default(),
            page_calls: AtomicUsize::new(0),
            push_calls: AtomicUsize::new(0),
        }
    }

    /// Adds faults for the next pushes, in order.
    pub fn fail_pushes(&self, faults: Vec<PushFault>) {
        self.push_faults.lock().unwrap_or_else(|e| e.into_inner()).extend(faults);
    }

    /// Pushes made so far, faulty ones included.
    pub fn push_calls(&self) -> usize {
        self.push_calls.load(Ordering::SeqCst)
    }

    /// Page requests made so far, faulty ones included.
    pub fn page_calls(&self) -> usize {
        self.page_calls.load(Ordering::SeqCst)
    }

    /// A 503 or 429 with an optional `Retry-After`.
    pub fn status(status: u16, retry_after: Option<Duration>) -> Fault {
        Fault::Fail(TransportError::Status { status, code: None, message: "injected".into(), retry_after })
    }
}

#[async_trait]
impl<T: Transport> Transport for FaultyTransport<T> {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Vec<u8>, TransportError> {
        self.page_calls.fetch_add(1, Ordering::SeqCst);
        let fault = self.faults.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        match fault {
            None => self.inner.fetch_page(request).await,
            Some(Fault::Fail(e)) => Err(e),
            Some(Fault::Body(body)) => Ok(body),
            Some(Fault::Hang) => std::future::pending().await,
        }
    }

    async fn fetch_status(&self, scope: &str) -> Result<ScopeStatus, TransportError> {
        self.inner.fetch_status(scope).await
    }

    async fn fetch_schema(&self) -> Result<Schema, TransportError> {
        self.inner.fetch_schema().await
    }

    async fn push(&self, scope: &str, request: &PushRequest) -> Result<PushResponse, TransportError> {
        self.push_calls.fetch_add(1, Ordering::SeqCst);
        let fault = self.push_faults.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        match fault {
            None => self.inner.push(scope, request).await,
            Some(PushFault::Fail(e)) => Err(e),
            Some(PushFault::LoseAnswer) => {
                self.inner.push(scope, request).await?;
                Err(TransportError::Network("injected: the answer was lost".into()))
            }
        }
    }
}
