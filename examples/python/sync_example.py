"""Syncs one integration with the uniffi binding's Python package, printing progress and the database's stats.

    bash scripts/gen-bindings.sh                       # the package, in target/uniffi/python
    cargo run --release -p server-example -- seed --db server.db --integration wa-1 --messages 50000
    cargo run --release -p server-example -- serve --db server.db --token secret=wa-1 &
    PYTHONPATH=target/uniffi/python python3 examples/python/sync_example.py \
        --url http://127.0.0.1:8080 --token secret --integration wa-1 --db client.db

Ctrl-C cancels between pages; running it again resumes where it stopped.
"""

import argparse
import asyncio
import signal
import sys

import seqsync


class PrintProgress(seqsync.ProgressListener):
    """Called on the binding's threads; printing is all this example does with an event."""

    def on_progress(self, p: seqsync.SyncProgress) -> None:
        if p.stage == "collection":
            total = f"/{p.total}" if p.total is not None else ""
            print(f"  {p.collection}: {p.applied}{total} rows, {p.pages} pages, {p.rows_per_sec:,.0f} rows/s")
        elif p.stage == "collection_done":
            print(f"  {p.collection}: done, {p.applied} rows, cursor {p.cursor}")


async def main(args: argparse.Namespace) -> int:
    engine = await seqsync.open_engine(seqsync.OpenOptions(
        db_path=args.db, server_url=args.url, token=args.token, integration_id=args.integration))
    cancel = engine.cancel_handle()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, cancel.cancel)
    try:
        report = await engine.sync_all(listener=PrintProgress(), cancel=cancel)
        print(f"synced {report.rows} rows in {report.pages} pages, {report.elapsed_ms / 1000:.1f} s")
    except seqsync.SeqsyncError as e:
        print(f"sync failed ({type(e).__name__}): {e}", file=sys.stderr)
        return 1
    finally:
        stats = await engine.stats()
        print(f"{stats.path}: {stats.file_size_bytes / 1e6:.1f} MB")
        for collection, count in sorted(stats.counts.items()):
            print(f"  {collection}: {count} rows")
        await engine.shutdown()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the server's base URL")
    parser.add_argument("--token", help="the bearer token")
    parser.add_argument("--integration", required=True, help="the integration id to sync")
    parser.add_argument("--db", default="client.db", help="the SQLite file of the replica")
    sys.exit(asyncio.run(main(parser.parse_args())))
