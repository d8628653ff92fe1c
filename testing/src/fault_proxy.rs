//! A fault-injecting HTTP/1.1 proxy between a client and a server on loopback.
//!
//! Every request gets a connection of its own: the proxy rewrites `Connection: close` into the request and the
//! response, so a fault decided for one connection hits exactly one request, and the client's pool never reuses
//! a connection the proxy has closed. Faults are decided per request by a [`Plan`]: a fixed schedule, a seeded
//! random draw, or always the same fault.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One thing that can go wrong with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The connection is reset (RST) after the request arrives, before any answer.
    Reset,
    /// The answer is held back for this long, then sent whole.
    Delay(Duration),
    /// The status line, headers and half the body are sent, then nothing for the proxy's stall time, then the
    /// connection closes: the client's request timeout has to fire.
    Stall,
    /// The status line, headers and half the body are sent, then the connection closes.
    Truncate,
    /// The answer is sent whole, with one byte of the body (the middle one) changed.
    Corrupt,
    /// The server is never asked; the proxy answers this status (500, 502, 503…) with a JSON error body.
    Status(u16),
    /// The proxy answers 429 with `Retry-After: seconds`.
    RateLimited {
        /// The `Retry-After` value.
        seconds: u64,
    },
}

impl Fault {
    /// A short stable name, for counts.
    pub fn name(&self) -> String {
        match self {
            Fault::Reset => "reset".into(),
            Fault::Delay(_) => "delay".into(),
            Fault::Stall => "stall".into(),
            Fault::Truncate => "truncate".into(),
            Fault::Corrupt => "corrupt".into(),
            Fault::Status(code) => format!("status_{code}"),
            Fault::RateLimited { .. } => "status_429".into(),
        }
    }

    /// One of each kind, with the given delay and 1 s of `Retry-After`.
    pub fn every_kind(delay: Duration) -> Vec<Fault> {
        vec![
            Fault::Reset,
            Fault::Delay(delay),
            Fault::Stall,
            Fault::Truncate,
            Fault::Status(500),
            Fault::Status(502),
            Fault::Status(503),
            Fault::RateLimited { seconds: 1 },
        ]
    }
}

/// Which requests get which fault.
#[derive(Clone, Debug)]
pub enum Plan {
    /// Request `i` (counted from 0 over the proxy's life) gets `schedule[i % len]`.
    Schedule(Vec<Option<Fault>>),
    /// Each request gets a fault with probability `rate`, drawn uniformly from `kinds`; the same seed gives the
    /// same sequence of decisions.
    Random {
        /// The generator's seed.
        seed: u64,
        /// Probability that a request is faulted, 0.0 to 1.0.
        rate: f64,
        /// The faults to draw from.
        kinds: Vec<Fault>,
    },
    /// Every request gets this fault.
    Always(Fault),
}

/// What the proxy has done so far.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    faults: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    /// Requests received.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Faults injected, by [`Fault::name`].
    pub fn faults(&self) -> BTreeMap<String, u64> {
        self.faults.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Faults injected, all kinds.
    pub fn total_faults(&self) -> u64 {
        self.faults().values().sum()
    }

    fn count(&self, fault: &Fault) {
        if let Ok(mut faults) = self.faults.lock() {
            *faults.entry(fault.name()).or_default() += 1;
        }
    }
}

enum Decider {
    Schedule(Vec<Option<Fault>>),
    Random { rng: Box<ChaCha8Rng>, rate: f64, kinds: Vec<Fault> },
    Always(Fault),
}

impl Decider {
    fn next(&mut self, index: u64) -> Option<Fault> {
        match self {
            Decider::Schedule(schedule) if schedule.is_empty() => None,
            Decider::Schedule(schedule) => schedule[(index % schedule.len() as u64) as usize],
            Decider::Random { rng, rate, kinds } => (!kinds.is_empty() && rng.random_bool(rate.clamp(0.0, 1.0)))
                .then(|| kinds[rng.random_range(0..kinds.len())]),
            Decider::Always(fault) => Some(*fault),
        }
    }
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on `127.0.0.1:0` and forwards to `upstream` under `plan`. A stalled answer holds its connection
    /// for `stall` before closing it.
    pub async fn start(upstream: SocketAddr, plan: Plan, stall: Duration) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let decider = Mutex::new(match plan {
            Plan::Schedule(schedule) => Decider::Schedule(schedule),
            Plan::Random { seed, rate, kinds } => {
                Decider::Random { rng: Box::new(ChaCha8Rng::seed_from_u64(seed)), rate, kinds }
            }
            Plan::Always(fault) => Decider::Always(fault),
        });
        let counted = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let index = counted.requests.fetch_add(1, Ordering::Relaxed);
                let fault = decider.lock().ok().and_then(|mut d| d.next(index));
                if let Some(fault) = &fault {
                    counted.count(fault);
                }
                // A broken connection is the point of some faults; its error is of no interest.
                tokio::spawn(async move {
                    let _ = handle(client, upstream, fault, stall).await;
                });
            }
        });
        Ok(FaultProxy { addr, stats, task })
    }

    /// `http://addr` of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Option<Fault>,
    stall: Duration,
) -> std::io::Result<()> {
    let request = read_request(&mut client).await?;
    match fault {
        Some(Fault::Reset) => {
            // Linger 0: closing sends RST instead of FIN.
            client.set_zero_linger()?;
            return Ok(());
        }
        Some(Fault::Status(status)) => return answer(&mut client, status, &[]).await,
        Some(Fault::RateLimited { seconds }) => {
            return answer(&mut client, 429, &[("Retry-After", &seconds.to_string())]).await;
        }
        _ => {}
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(&with_connection_close(&request)).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    let head_end = head_end(&response).unwrap_or(response.len());
    let mut response = [with_connection_close(&response[..head_end]), response[head_end..].to_vec()].concat();
    let half = response.len() - (response.len() - head_end) / 2;
    match fault {
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            client.write_all(&response).await?;
        }
        Some(Fault::Truncate) => client.write_all(&response[..half]).await?,
        Some(Fault::Corrupt) => {
            if half < response.len() {
                response[half] ^= 0x55;
            }
            client.write_all(&response).await?;
        }
        Some(Fault::Stall) => {
            client.write_all(&response[..half]).await?;
            tokio::time::sleep(stall).await;
        }
        _ => client.write_all(&response).await?,
    }
    client.shutdown().await
}

/// The request's head and its `Content-Length` body.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&buffer) {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Request::new(&mut headers);
            parsed.parse(&buffer[..end]).map_err(std::io::Error::other)?;
            let length = parsed
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buffer.len() < end + length {
                let n = client.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            return Ok(buffer);
        }
    }
}

/// The index just past the blank line that ends an HTTP head.
fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// `message` (a head, maybe followed by a body) with its `Connection` header replaced by `Connection: close`.
fn with_connection_close(message: &[u8]) -> Vec<u8> {
    let end = head_end(message).unwrap_or(message.len());
    let head = String::from_utf8_lossy(&message[..end]);
    let mut out = String::with_capacity(end + 20);
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    [out.into_bytes(), message[end..].to_vec()].concat()
}

async fn answer(client: &mut TcpStream, status: u16, headers: &[(&str, &str)]) -> std::io::Result<()> {
    let body = format!(r#"{{"error":{{"code":"injected","message":"HTTP {status} injected by the fault proxy"}}}}"#);
    let mut head =
        format!("HTTP/1.1 {status} Injected\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    client.write_all(head.as_bytes()).await?;
    client.write_all(body.as_bytes()).await?;
    client.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_close_replaces_the_connection_header_and_keeps_the_body() {
        let message = b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nhi";
        let rewritten = String::from_utf8(with_connection_close(message)).expect("utf8");
        assert_eq!(rewritten, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nConnection: close\r\n\r\nhi");
    }

    #[test]
    fn a_seeded_plan_repeats_its_decisions() {
        let draw = || {
            let kinds = Fault::every_kind(Duration::from_millis(1));
            let mut d = Decider::Random { rng: Box::new(ChaCha8Rng::seed_from_u64(9)), rate: 0.5, kinds };
            (0..64).map(|i| d.next(i)).collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw());
        assert!(first.iter().any(Option::is_none) && first.iter().any(Option::is_some));
    }
}
