//! `sync-cli media`: download an integration's media files through the persistent queue, with a progress bar.

use std::path::PathBuf;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use sync_media::{AutoDownload, MediaDownloader, MediaEvent, MediaOptions};

/// What `sync-cli media` was asked.
pub struct MediaArgs {
    /// The replica (already pulled).
    pub db: PathBuf,
    /// The server.
    pub url: String,
    /// Bearer token.
    pub token: Option<String>,
    /// The integration.
    pub integration: String,
    /// The download folder (`None`: the user's Downloads folder).
    pub dir: Option<PathBuf>,
    /// Downloads at once.
    pub concurrency: usize,
    /// Queue every media row, not only what the default auto-download policy takes.
    pub all: bool,
    /// No progress bar.
    pub quiet: bool,
}

/// Queues the integration's media (by the auto-download policy, or all), downloads until the queue is idle, and
/// prints the totals; fails when an item failed.
pub async fn run(args: MediaArgs) -> anyhow::Result<()> {
    let mut options = MediaOptions::new(&args.db, &args.url, args.token.as_deref());
    options.target_dir = args.dir;
    options.concurrency = args.concurrency.max(1);
    if args.all {
        options.auto = AutoDownload::everything();
    }
    let media = tokio::task::spawn_blocking(move || MediaDownloader::open(options)).await??;
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{msg:>24} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}")?
            .progress_chars("=> "),
    );
    let shown = bar.clone();
    media.set_listener(Arc::new(move |event: &MediaEvent| {
        if let MediaEvent::Totals(t) = event {
            shown.set_length(t.total_bytes.max(1));
            shown.set_position(t.bytes);
            shown.set_message(format!("{} left, {} done", t.queued + t.downloading, t.done));
        }
    }));
    media.reconcile(&args.integration).await?;
    let totals = media.run_until_idle().await?;
    bar.finish_and_clear();
    println!(
        "media of {} in {}: {} done, {} failed, {} paused",
        args.integration,
        media.folder().display(),
        totals.done,
        totals.failed,
        totals.paused
    );
    if totals.failed > 0 {
        for item in media.items().await?.iter().filter(|i| i.state == sync_media::ItemState::Failed) {
            eprintln!("  {}: {}", item.media_id, item.last_error.as_deref().unwrap_or("failed"));
        }
        anyhow::bail!("{} downloads failed; `sync-cli media` again retries them", totals.failed);
    }
    Ok(())
}
