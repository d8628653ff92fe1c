//! NATS fan-out of commit hints between server instances.
//!
//! One subject per integration, `<prefix>.<integration>` (characters NATS subjects cannot hold are escaped as
//! `~xx`), payload `<seq> <integration>`. Every instance subscribes to `<prefix>.>` and wakes its own waiters;
//! the instance that holds the leadership of polling PostgreSQL's heads publishes each commit it learns of. NATS core
//! pub/sub keeps nothing: a hint published while an instance is disconnected is lost, so after each
//! reconnect every waiter re-reads the store, and waiters re-read it periodically anyway.

use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use futures::StreamExt as _;
use sync_core::watch::SeqWatch;
use tokio_util::sync::CancellationToken;

/// A connected fan-out: publish hints, and receive everyone's into a [`SeqWatch`].
#[derive(Clone)]
pub struct Fanout {
    client: async_nats::Client,
    prefix: String,
}

impl Fanout {
    /// Connects to `url` (retrying in the background while NATS is down), subscribes to `<prefix>.>` and
    /// publishes every hint received into `hints`, until `cancel`.
    pub async fn start(
        url: &str,
        prefix: &str,
        hints: Arc<SeqWatch>,
        cancel: CancellationToken,
    ) -> anyhow::Result<Self> {
        let on_event = hints.clone();
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .event_callback(move |event| {
                let hints = on_event.clone();
                async move {
                    tracing::info!(%event, "live: NATS");
                    if matches!(event, async_nats::Event::Connected) {
                        // Hints published while we were away are lost: every waiter re-reads the store.
                        hints.publish_all();
                    }
                }
            })
            .connect(url)
            .await
            .with_context(|| format!("connecting to NATS at {url}"))?;
        let mut subscription = client
            .subscribe(format!("{prefix}.>"))
            .await
            .with_context(|| format!("subscribing to {prefix}.> on NATS at {url}"))?;
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    _ = cancel.cancelled() => break,
                    m = subscription.next() => m,
                };
                let Some(message) = message else { break };
                let payload = String::from_utf8_lossy(&message.payload);
                match payload.split_once(' ').and_then(|(seq, scope)| Some((scope, seq.parse::<i64>().ok()?))) {
                    Some((scope, seq)) => hints.publish(scope, seq),
                    None => tracing::warn!(%payload, "live: ignoring a NATS hint that is not `<seq> <integration>`"),
                }
            }
        });
        Ok(Fanout { client, prefix: prefix.to_owned() })
    }

    /// Publishes "`scope` reached `seq`" to every instance (fire and forget: a lost hint only delays).
    pub fn publish(&self, scope: &str, seq: i64) {
        let (client, subject) = (self.client.clone(), subject(&self.prefix, scope));
        let payload = Bytes::from(format!("{seq} {scope}"));
        tokio::spawn(async move {
            if let Err(e) = client.publish(subject, payload).await {
                tracing::warn!(error = %e, "live: publishing a hint to NATS failed");
            }
        });
    }
}

/// `<prefix>.<integration>`, escaping what a subject token cannot hold.
pub fn subject(prefix: &str, scope: &str) -> String {
    let mut subject = format!("{prefix}.");
    for b in scope.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            subject.push(b as char);
        } else {
            subject.push_str(&format!("~{b:02x}"));
        }
    }
    subject
}

#[cfg(test)]
mod tests {
    #[test]
    fn subjects_are_one_token_per_integration() {
        assert_eq!(super::subject("seqsync.public", "wa-1"), "seqsync.public.wa-1");
        assert_eq!(super::subject("p", "a.b *>"), "p.a~2eb~20~2a~3e");
    }
}
