"""The media scenarios of bindings-tests/scenarios.json (`kind: media`), for test_scenarios.py: downloads of seeded
media files through the binding's media calls, checked byte for byte against the server's files, and the queue's
controls."""

import asyncio
import hashlib
import threading
import time
from pathlib import Path

import seqsync

V = seqsync.SqlValue
S = seqsync.MediaState
E = seqsync.MediaEvent


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class MediaEvents(seqsync.MediaListener):
    """Collects media events (called on the binding's threads)."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def on_media_event(self, event):
        with self.lock:
            self.events.append(event)

    def of(self, kind, media_id):
        with self.lock:
            return [e for e in self.events if isinstance(e, kind) and e.media_id == media_id]


async def item_when(engine, media_id, ok, what):
    started = time.monotonic()
    item = None
    while not (item and ok(item)):
        assert time.monotonic() - started < 20, f"timed out waiting for {media_id} {what}: {item}"
        await asyncio.sleep(0.02)
        item = await engine.media_item(media_id)
    return item


async def media_rows(engine, count):
    """`count` media rows of distinct files, first by sha256 (bare columns with min(): the least id's row)."""
    result = await engine.query("SELECT min(id), sha256, size_bytes, conversation_id FROM message_media "
                                "GROUP BY sha256 ORDER BY sha256 LIMIT ?", [V.INTEGER(count)])
    return [dict(id=r[0].value, sha=r[1].value, size=r[2].value, conversation=r[3].value) for r in result.rows]


async def media_download(world, open_engine):
    engine = await open_engine(world, "media-download.db")
    await engine.sync_all()
    target = world.dir / "downloads-py"
    listener = MediaEvents()
    await engine.media_listen(listener)
    folder = await engine.media_configure(seqsync.MediaSettings(target_dir=str(target), auto_download=[]))
    assert folder == str(target)
    rows = await media_rows(engine, 3)
    assert len(rows) == 3
    for row in rows:
        assert (await engine.media_download(row["id"])).media_id == row["id"]
    for row in rows:
        item = await item_when(engine, row["id"], lambda i: i.state in (S.DONE, S.FAILED), "done")
        assert item.state == S.DONE, item.last_error
        assert item.bytes == item.total == row["size"]
        assert Path(item.path).parent == target
        assert Path(item.path).read_bytes() == (world.dir / "server-media" / row["sha"]).read_bytes()
        assert sha256(item.path) == row["sha"]
    started = time.monotonic()
    while not all(any(e.state == S.DONE for e in listener.of(E.STATE, r["id"])) for r in rows):
        assert time.monotonic() - started < 20, "the done events"
        await asyncio.sleep(0.02)
    for row in rows:
        progress = listener.of(E.PROGRESS, row["id"])
        assert progress, f"progress events of {row['id']}"
        assert all(e.bytes <= e.total == row["size"] and e.rate >= 0 for e in progress)
        assert progress[-1].bytes == row["size"]
        done = next(e for e in listener.of(E.STATE, row["id"]) if e.state == S.DONE)
        assert Path(done.path).parent == target
    assert (await engine.media_totals()).done == 3
    assert sorted(i.media_id for i in await engine.media_items()) == sorted(r["id"] for r in rows)
    await engine.shutdown()


async def media_control(world, open_engine):
    synced = await open_engine(world, "media-control.db")
    await synced.sync_all()
    a, b, c = await media_rows(synced, 3)
    await synced.shutdown()
    settings = seqsync.MediaSettings(target_dir=str(world.dir / "control-py"), auto_download=[], concurrency=1)
    engine = await open_engine(world, "media-control.db", server_url="http://127.0.0.1:9")
    await engine.media_configure(settings)
    waiting = (S.QUEUED, S.DOWNLOADING)
    assert (await engine.media_download(a["id"])).state in waiting
    assert (await engine.media_download(b["id"], priority=1)).state in waiting
    assert (await engine.media_download(c["id"], priority=5)).state in waiting
    await engine.media_pause(a["id"])
    await item_when(engine, a["id"], lambda i: i.state == S.PAUSED, "paused")
    assert (await engine.media_prioritize(b["id"], 50)).priority == 50
    assert (await engine.media_items())[0].media_id == b["id"]
    assert await engine.media_prioritize_conversation(b["conversation"], 70) >= 1
    await engine.media_cancel(c["id"])
    await item_when(engine, c["id"], lambda i: i.state == S.CANCELLED, "cancelled")
    assert (await engine.media_resume(a["id"])).state in waiting
    for call in (engine.media_download, engine.media_pause):
        try:
            await call("no-such-media")
            raise AssertionError("a bad media id must fail")
        except seqsync.SeqsyncError.NotFound as e:
            assert "no-such-media" in str(e)
    assert all(i.state != S.FAILED for i in await engine.media_items())
    await engine.shutdown()

    live = await open_engine(world, "media-control.db")
    await live.media_configure(settings)
    for row in (a, b):
        item = await item_when(live, row["id"], lambda i: i.state == S.DONE, "done")
        assert sha256(item.path) == row["sha"]
    assert (await live.media_item(c["id"])).state == S.CANCELLED
    await live.shutdown()
