//! Media downloads over loopback: the client's queue (`sync-client` media calls over `sync-media`: resumable,
//! verified by SHA-256, four at once) against `curl` fetching the same files four at once in the same run; the
//! process's RSS while the queue downloads the set (above its idle RSS); and a pull sync's speed without and with
//! downloads running beside it. The server is `server-example serve` in a child process (its memory and CPU are
//! not this process's), seeded with realistic media (`--media-profile realistic`). Writes Markdown to stdout.
//!
//! `cargo build --release -p server-example -p sync-benches --bins && target/release/media-bench [files per kind]
//! [messages]` (defaults 25, about 1 GB, and 20,000).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sync_client::{Client, ClientOptions, MediaSettings};
use sync_core::Value;

const SCOPE: &str = "wa-bench";
const TOKEN: &str = "bench";
const CONCURRENCY: u32 = 4;

/// The `server-example` binary beside this one (same profile).
fn server_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe.with_file_name("server-example");
    if !path.exists() {
        bail!("{} is missing: build it with `cargo build --release -p server-example`", path.display());
    }
    Ok(path)
}

fn seed(dir: &Path, files_per_kind: usize, messages: usize) -> Result<()> {
    let status = Command::new(server_binary()?)
        .args(["seed", "--integration", SCOPE, "--conversations", "200", "--contacts", "100"])
        .args(["--messages", &messages.to_string(), "--media-profile", "realistic"])
        .args(["--media-files-per-kind", &files_per_kind.to_string()])
        .arg("--db")
        .arg(dir.join("server.db"))
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("server-example seed failed");
    }
    Ok(())
}

/// `server-example serve` on a free port; its URL once it printed it.
fn serve(dir: &Path) -> Result<(Child, String)> {
    let mut child = Command::new(server_binary()?)
        .args(["serve", "--listen", "127.0.0.1:0", "--token", &format!("{TOKEN}={SCOPE}")])
        .arg("--db")
        .arg(dir.join("server.db"))
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(url) = line.split(" on ").nth(1).and_then(|rest| rest.split_whitespace().next()) {
            return Ok((child, url.to_owned()));
        }
    }
    bail!("server-example serve printed no URL")
}

async fn client(dir: &Path, name: &str, url: &str) -> Result<Arc<Client>> {
    let options = ClientOptions {
        scope: SCOPE.into(),
        db: dir.join(name),
        url: url.into(),
        token: Some(TOKEN.into()),
        ..Default::default()
    };
    Ok(Arc::new(Client::open_async(options).await?))
}

/// A full pull sync into a fresh replica: rows per second.
async fn pull(client: &Client) -> Result<(u64, Duration)> {
    let started = Instant::now();
    let report = client.sync(None, None, None).await?;
    Ok((report.rows(), started.elapsed()))
}

/// One media row per distinct file: (id, sha256, size).
async fn files(client: &Client) -> Result<Vec<(String, String, u64)>> {
    let sql = "SELECT min(id), sha256, size_bytes FROM message_media WHERE integration_id = ? GROUP BY sha256";
    let result = client.query(sql, vec![Value::from(SCOPE)]).await?;
    let text = |v: &Value| match v {
        Value::Text(s) => s.clone(),
        other => format!("{other:?}"),
    };
    let rows = result.rows.iter().map(|r| {
        let size = match r[2] {
            Value::Integer(n) => n as u64,
            _ => 0,
        };
        (text(&r[0]), text(&r[1]), size)
    });
    Ok(rows.collect())
}

/// `curl --parallel` (four at once) fetching every file to disk: the elapsed time.
fn curl(url: &str, files: &[(String, String, u64)], out: &Path) -> Result<Duration> {
    std::fs::create_dir_all(out)?;
    let mut config = String::new();
    for (id, _, _) in files {
        config.push_str(&format!("url = \"{url}/media/{SCOPE}/{id}\"\noutput = \"{}\"\n", out.join(id).display()));
    }
    let config_file = out.join("curl.config");
    std::fs::write(&config_file, config)?;
    let started = Instant::now();
    let status = Command::new("curl")
        .args(["--silent", "--no-progress-meter", "--fail", "--parallel", "--parallel-max", &CONCURRENCY.to_string()])
        .args(["-H", &format!("authorization: Bearer {TOKEN}"), "-K"])
        .arg(&config_file)
        .stderr(Stdio::null())
        .status()?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("curl failed");
    }
    for (id, _, size) in files {
        if std::fs::metadata(out.join(id))?.len() != *size {
            bail!("curl's {id} has the wrong size");
        }
    }
    Ok(elapsed)
}

/// The time to flush curl's files to disk (the queue syncs each file before placing it; curl does not).
fn flush(files: &[(String, String, u64)], out: &Path) -> Result<Duration> {
    let started = Instant::now();
    for (id, _, _) in files {
        std::fs::File::open(out.join(id))?.sync_data()?;
    }
    Ok(started.elapsed())
}

/// This process's resident set, from /proc (Linux), in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
    line.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0) * 1024
}

/// Queues every file on `client` into `target` and waits until the queue is idle; the elapsed time and the peak
/// RSS sampled every 10 ms meanwhile.
async fn queue_all(client: &Client, files: &[(String, String, u64)], target: &Path) -> Result<(Duration, u64)> {
    let settings = MediaSettings {
        target_dir: Some(target.into()),
        concurrency: Some(CONCURRENCY),
        auto_rules: Some(vec![]),
        ..Default::default()
    };
    client.media_configure(settings).await?;
    let peak = Arc::new(AtomicU64::new(rss()));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let started = Instant::now();
    for (id, _, _) in files {
        client.media_download(id, None).await?;
    }
    loop {
        let totals = client.media_totals().await?;
        if totals.queued + totals.downloading == 0 {
            if totals.failed > 0 {
                bail!("{} downloads failed", totals.failed);
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    Ok((elapsed, peak.load(Ordering::Relaxed)))
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let files_per_kind: usize = args.next().map_or(Ok(25), |a| a.parse())?;
    let messages: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let seeding = Instant::now();
    seed(dir.path(), files_per_kind, messages)?;
    eprintln!("seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    let (mut server, url) = serve(dir.path())?;

    let a = client(dir.path(), "a.db", &url).await?;
    let (rows, alone) = pull(&a).await?;
    let set = files(&a).await?;
    let bytes: u64 = set.iter().map(|f| f.2).sum();
    let largest = set.iter().map(|f| f.2).max().unwrap_or(0);

    // curl first also reads the server's files into the page cache, for both.
    let curl_1 = curl(&url, &set, &dir.path().join("curl-1"))?;
    let idle = rss();
    let (ours, peak) = queue_all(&a, &set, &dir.path().join("ours")).await?;
    let curl_2 = curl(&url, &set, &dir.path().join("curl-2"))?;
    let curl_2_flush = flush(&set, &dir.path().join("curl-2"))?;
    for (id, sha, _) in &set {
        let item = a.media_item(id).await?.context("an item")?;
        let path = item.path.context("a finished path")?;
        if item.record.sha256.as_deref() != Some(sha.as_str()) || !path.starts_with(dir.path().join("ours")) {
            bail!("{id}: not the server's file");
        }
    }

    // A pull into a fresh replica while another replica downloads the whole set.
    let b = client(dir.path(), "b.db", &url).await?;
    b.sync(None, None, None).await?;
    let c = client(dir.path(), "c.db", &url).await?;
    let downloads = {
        let (b, set, target) = (b.clone(), set.clone(), dir.path().join("beside"));
        tokio::spawn(async move { queue_all(&b, &set, &target).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (rows_c, beside) = pull(&c).await?;
    let downloads_still_running = !downloads.is_finished();
    downloads.await??;

    let curl_best = curl_1.min(curl_2);
    println!(
        "### Media downloads ({} files, {:.0} MB, largest {:.1} MB; {CONCURRENCY} at once)\n",
        set.len(),
        bytes as f64 / 1e6,
        largest as f64 / 1e6
    );
    println!("| what | time | throughput |\n|---|---|---|");
    println!("| curl --parallel, run 1 | {:.2} s | {:.0} MB/s |", curl_1.as_secs_f64(), mb_per_s(bytes, curl_1));
    println!(
        "| the client's queue (verified, SHA-256) | {:.2} s | {:.0} MB/s |",
        ours.as_secs_f64(),
        mb_per_s(bytes, ours)
    );
    println!("| curl --parallel, run 2 | {:.2} s | {:.0} MB/s |", curl_2.as_secs_f64(), mb_per_s(bytes, curl_2));
    let durable = curl_2 + curl_2_flush;
    println!(
        "| curl run 2, then its files flushed to disk (as the queue does) | {:.2} s | {:.0} MB/s |",
        durable.as_secs_f64(),
        mb_per_s(bytes, durable)
    );
    println!(
        "\nqueue / best curl: {:.0} %; queue / curl with its files flushed: {:.0} %",
        100.0 * curl_best.as_secs_f64() / ours.as_secs_f64(),
        100.0 * durable.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "RSS: idle {:.1} MB, peak while downloading {:.1} MB, above idle {:.1} MB",
        idle as f64 / 1e6,
        peak as f64 / 1e6,
        peak.saturating_sub(idle) as f64 / 1e6
    );
    println!(
        "pull sync of {rows} rows alone: {:.2} s ({:.0} rows/s)",
        alone.as_secs_f64(),
        rows as f64 / alone.as_secs_f64()
    );
    println!(
        "pull sync of {rows_c} rows beside the downloads: {:.2} s ({:.0} rows/s){}",
        beside.as_secs_f64(),
        rows_c as f64 / beside.as_secs_f64(),
        if downloads_still_running { "" } else { " (the downloads ended before the sync did)" }
    );
    for client in [a, b, c] {
        Client::close(client).await?;
    }
    server.kill()?;
    let _ = server.wait();
    Ok(())
}
