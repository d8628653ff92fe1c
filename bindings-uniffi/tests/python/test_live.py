"""follow(): the replica follows the real server-example live (the twin of bindings-node/__test__/live.test.mjs).
Another process writes the server's file (a seed run); the change reaches the ChangeListener on a binding thread;
cancelling (a CancelHandle, or shutdown()) makes follow() return."""

import asyncio
import tempfile
import threading
import time
from pathlib import Path

import pytest
import seqsync
from conftest import Server, seed

TOKEN = "secret"
INTEGRATION = "wa-live"


@pytest.fixture(scope="module")
def live():
    with tempfile.TemporaryDirectory(prefix="seqsync-py-live-") as directory:
        db = Path(directory) / "server.db"
        seed(db, INTEGRATION, conversations=5, messages=200, contacts=5)
        server = Server(db, {TOKEN: INTEGRATION})
        try:
            yield Path(directory), db, server
        finally:
            server.stop()


class Changes(seqsync.ChangeListener):
    """Collects the changes (called on the binding's threads); `fail` makes every call throw after recording."""

    def __init__(self, fail=False):
        self.changes = []
        self.lock = threading.Lock()
        self.fail = fail

    def on_change(self, change):
        with self.lock:
            self.changes.append(change)
        if self.fail:
            raise RuntimeError("a bug in the app's listener")

    def snapshot(self):
        with self.lock:
            return list(self.changes)


async def until(predicate, what, timeout=20.0):
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def counts(status):
    return {name: c["count"] for name, c in status["collections"].items()}


def live_test(test):
    """Runs the async `test(directory, server_db, server)` on the module's server in a fresh asyncio loop."""

    def run(live):
        asyncio.run(test(*live))

    run.__doc__ = test.__doc__
    return run


async def open_live(directory, server, name, token=TOKEN):
    return await seqsync.open_engine(seqsync.OpenOptions(
        db_path=str(directory / name), server_url=server.url, token=token, integration_id=INTEGRATION))


async def follow_until_synced(engine, listener, server, **options):
    """Starts follow() as an asyncio task and waits until the listener heard every non-empty collection of the
    server reach its latest seq (the first sync is then complete)."""
    following = asyncio.ensure_future(engine.follow(listener=listener, **options))
    await until(lambda: caught_up(listener, server.status(TOKEN, INTEGRATION)), "the first sync")
    return following


def caught_up(listener, status):
    heard = {}
    for change in listener.snapshot():
        heard[change.collection] = max(heard.get(change.collection, 0), change.cursor)
    return all(heard.get(name, 0) >= c["latest_seq"] for name, c in status["collections"].items() if c["count"])


@live_test
async def test_a_write_by_another_process_reaches_the_listener_and_cancel_returns(directory, db, server):
    engine = await open_live(directory, server, "live.db")
    listener = Changes()
    cancel = engine.cancel_handle()
    following = await follow_until_synced(engine, listener, server, cancel=cancel)
    try:
        initial = await engine.stats()
        assert initial.counts == counts(server.status(TOKEN, INTEGRATION))

        # A second seed run by another process: more messages on the server, found by the long-poll.
        before = len(listener.snapshot())
        await asyncio.to_thread(seed, db, INTEGRATION, conversations=5, messages=260, contacts=5)
        status = server.status(TOKEN, INTEGRATION)
        expected = counts(status)
        assert expected["messages"] > initial.counts["messages"], "the second seed added messages"
        # Every collection the second seed wrote (messages among them) reaches the listener at its latest seq.
        await until(lambda: caught_up(listener, status), "the live change")
        fresh = listener.snapshot()[before:]
        assert all(c.integration_id == INTEGRATION for c in fresh)
        new_messages = [key for c in fresh if c.collection == "messages" for key in c.upserted]
        assert len(set(new_messages)) >= expected["messages"] - initial.counts["messages"], [c.collection for c in fresh]
        # The keys named are rows the replica now holds (the event comes after the commit).
        placeholders = ",".join("?" * len(new_messages))
        held = await engine.query(f"SELECT COUNT(*) FROM messages WHERE id IN ({placeholders})",
                                  [seqsync.SqlValue.TEXT(k) for k in new_messages])
        assert held.rows[0][0].value == len(set(new_messages))
        assert (await engine.stats()).counts == expected, "the replica followed the server"
        assert not following.done(), "follow() runs until cancelled"

        # A reset the app asks for reaches the listener too: a change without a collection (re-read everything).
        before_reset = len(listener.snapshot())
        await engine.reset()
        await until(lambda: any(c.collection is None for c in listener.snapshot()[before_reset:]), "the reset event")
    finally:
        cancel.cancel()
    assert await asyncio.wait_for(following, 10) is None, "cancelling returns from follow()"
    assert not engine.is_closed()
    await engine.shutdown()


@live_test
async def test_a_throwing_listener_is_called_again_and_close_ends_follow(directory, _, server):
    engine = await open_live(directory, server, "throwing.db")
    listener = Changes(fail=True)
    # The first sync commits at least one page per collection: the listener threw on each and was called again.
    following = await follow_until_synced(engine, listener, server, wait_ms=1000)
    assert len({c.collection for c in listener.snapshot()}) >= 3
    assert (await engine.stats()).counts == counts(server.status(TOKEN, INTEGRATION))
    await engine.shutdown()
    assert await asyncio.wait_for(following, 10) is None, "shutdown() returns from follow()"
    with pytest.raises(seqsync.SeqsyncError.Closed):
        await engine.follow()


@live_test
async def test_a_rejected_token_fails_follow(directory, _, server):
    engine = await open_live(directory, server, "rejected.db", token="wrong")
    with pytest.raises(seqsync.SeqsyncError.Unauthorized):
        await asyncio.wait_for(engine.follow(), 10)
    await engine.shutdown()


@live_test
async def test_cancelling_the_awaiting_task_stops_the_loop(directory, db, server):
    engine = await open_live(directory, server, "dropped.db")
    listener = Changes()
    following = await follow_until_synced(engine, listener, server)
    following.cancel()  # asyncio drops the call's future: the loop must not go on in the background
    with pytest.raises(asyncio.CancelledError):
        await following
    cursor = {c.collection: c.last_seq for c in await engine.sync_state()}["messages"]
    before = len(listener.snapshot())
    await asyncio.to_thread(seed, db, INTEGRATION, conversations=5, messages=320, contacts=5)
    assert server.status(TOKEN, INTEGRATION)["collections"]["messages"]["latest_seq"] > cursor
    # A running loop picks a write up within milliseconds (the test above); give it ample time to show.
    await asyncio.sleep(1.5)
    assert len(listener.snapshot()) == before, "no change delivered after the task was cancelled"
    assert {c.collection: c.last_seq for c in await engine.sync_state()}["messages"] == cursor
    await engine.shutdown()


class Writes(seqsync.WriteListener):
    """Collects the outcomes of pushed writes; `fail` makes every call throw after recording."""

    def __init__(self, fail=False):
        self.outcomes = []
        self.fail = fail

    def on_write(self, outcome):
        self.outcomes.append(outcome)
        if self.fail:
            raise RuntimeError("a bug in the app's write listener")


@live_test
async def test_follow_pushes_local_writes_by_itself_and_a_throwing_write_listener_is_called_again(directory, _, server):
    engine = await open_live(directory, server, "writes.db")
    writes = Writes(fail=True)
    cancel = engine.cancel_handle()
    following = await follow_until_synced(engine, Changes(), server, cancel=cancel, writes=writes)
    try:
        conversation = (await engine.list_rows("conversations", seqsync.ListRowsOptions(limit=1)))[0]
        archived = not conversation.values["archived"].value
        for _ in range(2):
            archived = not archived
            update = seqsync.WriteInput(collection="conversations", id=conversation.id, op=seqsync.WriteOp.UPDATE,
                                        fields={"archived": seqsync.SqlValue.BOOL(archived)})
            mutation = await engine.mutate(update)
            await until(lambda: any(o.mutation_id == mutation.mutation_id for o in writes.outcomes), "its outcome")
        assert [o.status.is_APPLIED() for o in writes.outcomes] == [True, True], "called again after throwing"
    finally:
        cancel.cancel()
    assert await asyncio.wait_for(following, 10) is None
    await engine.sync_all()  # brings the last write's seq back, whether or not follow's own pull did already
    assert (await engine.pending_writes()) == []
    row = (await engine.list_rows("conversations", seqsync.ListRowsOptions(filter={"id": seqsync.SqlValue.TEXT(
        conversation.id)})))[0]
    assert row.values["archived"] == seqsync.SqlValue.BOOL(archived)
    await engine.shutdown()
