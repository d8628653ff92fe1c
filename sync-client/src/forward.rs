//! [`Forwarder`]: events of a broadcast channel handed to an app's listener on blocking threads, in order.

use std::sync::Arc;

use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A listener of events of type `E`. A listener that panics is called again on the next event: the stream lasts
/// as long as the app, and one bad event must not silence its UI.
pub type Listener<E> = Arc<dyn Fn(E) + Send + Sync>;

/// Calls a listener with each event of a receiver until [`Forwarder::finish`].
pub(crate) struct Forwarder {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Forwarder {
    /// Starts forwarding what `events` receives from now on (subscribe before the work that sends them starts).
    pub(crate) fn start<E: Clone + Send + 'static>(mut events: Receiver<E>, listener: Listener<E>) -> Forwarder {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    received = events.recv() => received,
                    _ = &mut stopped => break,
                };
                match event {
                    Ok(event) => call(&listener, event).await,
                    // The backlog overflowed: later events still come; a UI re-reads what it shows.
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                }
            }
            // Stopped: what was sent before the work ended is still owed to the listener.
            loop {
                match events.try_recv() {
                    Ok(event) => call(&listener, event).await,
                    Err(TryRecvError::Lagged(_)) => {}
                    Err(_) => return,
                }
            }
        });
        Forwarder { stop, task }
    }

    /// Delivers the events already sent, then stops; returns once the listener has had them all.
    pub(crate) async fn finish(self) {
        let _ = self.stop.send(());
        // A panic of the forwarder itself cannot happen (the listener's is caught by its blocking task).
        let _ = self.task.await;
    }
}

/// Calls the listener on a blocking thread (never one of the runtime's workers: a slow listener does not hold up
/// the sync); its panic ends that task only.
async fn call<E: Send + 'static>(listener: &Listener<E>, event: E) {
    let listener = listener.clone();
    let _ = tokio::task::spawn_blocking(move || listener(event)).await;
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::sync::broadcast;

    use super::*;

    /// `finish` right after the work ends must not drop what the work sent last (a write's outcome), and a
    /// listener that panics is called again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn finish_delivers_every_event_sent_before_it_in_order_even_past_a_panicking_call() {
        let (sender, receiver) = broadcast::channel(256);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = seen.clone();
        let listener: Listener<u32> = Arc::new(move |n| {
            recorded.lock().expect("lock").push(n);
            assert_ne!(n, 3, "a bug in the app's listener");
        });
        let forwarder = Forwarder::start(receiver, listener);
        for n in 0..200 {
            sender.send(n).expect("a receiver");
        }
        forwarder.finish().await;
        assert_eq!(*seen.lock().expect("lock"), (0..200).collect::<Vec<_>>());
    }
}
