//! The real programs the trials start and kill: `sync-cli`, the Node addon through a small script, and
//! `server-example serve`; plus a fresh PostgreSQL database for a run.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

/// The integration and token every trial uses.
pub const SCOPE: &str = "wa-trials";
/// The bearer token for [`SCOPE`].
pub const TOKEN: &str = "token-trials";

/// Small pages, so that a kill has many page boundaries to land between.
const PAGE_SIZES: [(&str, usize); 4] =
    [("messages", 200), ("conversations", 10), ("contacts", 20), ("message_media", 50)];

/// Which client program a trial runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientKind {
    /// `sync-cli pull`.
    Cli,
    /// `node testing/node/pull.cjs`, the Node addon.
    Node,
}

/// Where the programs are.
#[derive(Clone, Debug)]
pub struct Binaries {
    /// `sync-cli`.
    pub sync_cli: PathBuf,
    /// `server-example`.
    pub server_example: PathBuf,
    /// The Node script that syncs through the addon.
    pub node_script: PathBuf,
}

impl Binaries {
    /// The binaries of the cargo profile this program was built with (next to it, or one folder up for a test
    /// binary in `deps/`), and the Node script of this crate.
    pub fn locate() -> anyhow::Result<Binaries> {
        let exe = std::env::current_exe().context("cannot find this program's path")?;
        let dirs: Vec<&Path> = exe.ancestors().skip(1).take(2).collect();
        let find = |name: &str| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
        let missing = || "build them first: cargo build -p sync-cli -p server-example (same profile as this program)";
        Ok(Binaries {
            sync_cli: find("sync-cli")
                .with_context(|| format!("sync-cli not found next to {}: {}", exe.display(), missing()))?,
            server_example: find("server-example")
                .with_context(|| format!("server-example not found next to {}: {}", exe.display(), missing()))?,
            node_script: Path::new(env!("CARGO_MANIFEST_DIR")).join("node").join("pull.cjs"),
        })
    }

    /// A command that syncs [`SCOPE`] from `url` into `db` once, its error output going to `log`.
    pub fn client(&self, kind: ClientKind, db: &Path, url: &str, log: &Path) -> anyhow::Result<Command> {
        let mut command = match kind {
            ClientKind::Cli => {
                let mut c = Command::new(&self.sync_cli);
                c.args(["pull", "--quiet", "--integration", SCOPE, "--token", TOKEN, "--url", url]).arg("--db").arg(db);
                for (collection, rows) in PAGE_SIZES {
                    c.arg("--page-size").arg(format!("{collection}={rows}"));
                }
                // Commits every few pages during the initial sync too, so kills land between commits inside a
                // collection; the Node client keeps the default (one held transaction per 400,000 rows).
                c.args(["--commit-rows", "500"]);
                c
            }
            ClientKind::Node => {
                let mut c = Command::new("node");
                c.arg(&self.node_script).arg(db).args([url, TOKEN, SCOPE]);
                c.arg(PAGE_SIZES.iter().map(|(c, n)| format!("{c}={n}")).collect::<Vec<_>>().join(","));
                c
            }
        };
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(File::create(log)?);
        Ok(command)
    }
}

/// Runs a client to its end; fails with its error output when it fails.
pub fn run_client(mut command: Command, log: &Path) -> anyhow::Result<()> {
    let status = command.status().context("cannot start the client")?;
    if !status.success() {
        bail!("the client failed ({status}): {}", std::fs::read_to_string(log).unwrap_or_default().trim());
    }
    Ok(())
}

/// Starts a client and kills it with SIGKILL once `after` has passed, if it is still running: `true` when the
/// kill landed, `false` when it had finished. Fails with its error output when it failed by itself.
pub async fn kill_client_after(mut command: Command, after: Duration, log: &Path) -> anyhow::Result<bool> {
    let mut child = command.spawn().context("cannot start the client")?;
    tokio::time::sleep(after).await;
    let running = child.try_wait()?.is_none();
    if running {
        child.kill().context("SIGKILL the client")?;
    }
    let status = child.wait()?;
    if status.code().is_some() && !status.success() {
        bail!("the client failed ({status}): {}", std::fs::read_to_string(log).unwrap_or_default().trim());
    }
    Ok(running)
}

/// A free loopback port (bound and released: another program could take it meanwhile, which on a test
/// machine it does not).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where `server-example serve` keeps its data.
#[derive(Clone, Debug)]
pub enum StoreLocation {
    /// The embedded SQLite file.
    Embedded(PathBuf),
    /// A PostgreSQL database URL.
    Postgres(String),
}

/// `server-example serve` as a child process on a fixed port, so that a restart is found at the same URL.
pub struct ServerProcess {
    binary: PathBuf,
    store: StoreLocation,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts the server and waits until it accepts connections.
    pub fn start(binary: &Path, store: StoreLocation, log: &Path) -> anyhow::Result<ServerProcess> {
        let mut server =
            ServerProcess { binary: binary.to_owned(), store, port: free_port()?, log: log.to_owned(), child: None };
        server.restart()?;
        Ok(server)
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id, for its memory figures.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("SIGKILL the server")?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the server again (after a kill) and waits until it accepts connections.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill()?;
        let mut command = Command::new(&self.binary);
        command.arg("serve").args([
            "--listen",
            &format!("127.0.0.1:{}", self.port),
            "--token",
            &format!("{TOKEN}={SCOPE}"),
        ]);
        match &self.store {
            StoreLocation::Embedded(path) => command.arg("--db").arg(path),
            StoreLocation::Postgres(url) => command.args(["--database-url", url]),
        };
        let log = File::options().create(true).append(true).open(&self.log)?;
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        let mut child = command.spawn().with_context(|| format!("cannot start {}", self.binary.display()))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the server exited ({status}): {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default().trim()
                );
            }
            ensure!(started.elapsed() < Duration::from_secs(20), "the server did not listen on {addr} within 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Drops and creates the database `name` on the PostgreSQL server at `server_url` (`postgres://user@host:port`),
/// and returns its URL.
pub async fn fresh_postgres_database(server_url: &str, name: &str) -> anyhow::Result<String> {
    let admin = format!("{}/postgres", server_url.trim_end_matches('/'));
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {admin}: is it running?"))?;
    let connection = tokio::spawn(connection);
    // Two statements: several in one string would run in one transaction, where DROP DATABASE may not.
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
    client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
    drop(client);
    let _ = connection.await;
    Ok(format!("{}/{name}", server_url.trim_end_matches('/')))
}

/// The PostgreSQL server for tests (`SEQSYNC_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432`), or
/// `None` with a notice when it is unreachable; unreachable under `CI=true` is a failure.
pub fn test_postgres() -> Option<String> {
    let server = std::env::var("SEQSYNC_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let address = server.rsplit('@').next().unwrap_or_default().trim_end_matches('/');
    if std::net::TcpStream::connect(address).is_ok() {
        return Some(server);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "PostgreSQL at {server} is needed when CI=true");
    eprintln!("PostgreSQL at {server} is unreachable: skipping (set SEQSYNC_TEST_POSTGRES)");
    None
}

/// Drops the database `name` of [`fresh_postgres_database`] (best effort: a leftover is dropped by the next run).
pub async fn drop_postgres_database(server_url: &str, name: &str) {
    let admin = format!("{}/postgres", server_url.trim_end_matches('/'));
    if let Ok((client, connection)) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
        let connection = tokio::spawn(connection);
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        drop(client);
        let _ = connection.await;
    }
}

/// The resident set size of process `pid` now and at its peak, in KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field =
        |name: &str| status.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse::<u64>().ok();
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
