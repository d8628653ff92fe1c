"""What only the uniffi binding has: a foreign listener that throws, typed SQL values, handles after close, the
event loop free during a sync, a write's JSON field given as text."""

import asyncio

import seqsync
from test_scenarios import Events, open_engine

V = seqsync.SqlValue


def test_a_listener_that_throws_is_dropped_and_the_sync_ends_exact(world):
    async def run():
        engine = await open_engine(world, "throwing.db", progress_interval_ms=0)

        def fail(_):
            raise RuntimeError("a bug in the app's listener")

        listener = Events(fail)
        report = await engine.sync_all(listener=listener)
        assert len(listener.events) == 1, "not called again after it threw"
        assert report.rows == sum(world.expected.values())
        assert (await engine.stats()).counts == world.expected
        await engine.shutdown()

    asyncio.run(run())


def test_typed_values_filter_and_bind(world):
    async def run():
        engine = await open_engine(world, "typed.db")
        await engine.sync_collection("conversations")
        groups = await engine.list_rows("conversations", seqsync.ListRowsOptions(
            filter={"is_group": V.BOOL(True)}, limit=1000))
        count = await engine.query("SELECT COUNT(*) FROM conversations WHERE is_group = ?", [V.INTEGER(1)])
        assert len(groups) == count.rows[0][0].value > 0
        assert all(g.values["is_group"] == V.BOOL(True) for g in groups)
        nothing = await engine.query("SELECT ? IS NULL, ?", [V.NULL(), V.REAL(1.5)])
        assert nothing.rows == [[V.INTEGER(1), V.REAL(1.5)]]
        await engine.shutdown()

    asyncio.run(run())


def test_handles_of_a_closed_engine_are_cancelled(world):
    async def run():
        engine = await open_engine(world, "handles.db")
        before = engine.cancel_handle()
        assert not before.is_cancelled()
        await engine.shutdown()
        await engine.shutdown()  # idempotent
        assert before.is_cancelled()
        assert engine.cancel_handle().is_cancelled()
        assert engine.is_closed()

    asyncio.run(run())


def test_a_sync_leaves_the_event_loop_free(world):
    """The sync runs on the binding's runtime: other asyncio tasks keep running while it is awaited."""

    async def run():
        engine = await open_engine(world, "loop.db", page_sizes={"messages": 100})
        ticks = []

        async def ticker():
            while True:
                await asyncio.sleep(0.005)
                ticks.append(asyncio.get_running_loop().time())

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.02)
        started = asyncio.get_running_loop().time()
        report = await engine.sync_all()
        ended = asyncio.get_running_loop().time()
        ticking.cancel()
        await engine.shutdown()
        assert report.rows == sum(world.expected.values())
        during = [t for t in ticks if started < t < ended]
        assert len(during) >= 5, f"{len(during)} ticks in a {ended - started:.2f} s sync: the event loop was blocked"

    asyncio.run(run())


def test_a_json_field_is_written_as_json_and_text_that_is_not_json_is_refused(world):
    async def run():
        engine = await open_engine(world, "json-write.db")
        await engine.sync_collection("messages")
        message = (await engine.list_rows("messages", seqsync.ListRowsOptions(limit=1)))[0]

        def update(metadata):
            return seqsync.WriteInput(collection="messages", id=message.id, op=seqsync.WriteOp.UPDATE,
                                      fields={"metadata": metadata})

        try:
            await engine.mutate(update(V.JSON("{not json")))
            raise AssertionError("text that is not JSON was written")
        except seqsync.SeqsyncError.InvalidWrite as e:
            assert "metadata" in str(e)
        assert await engine.pending_writes() == []
        written = await engine.mutate(update(V.JSON('{"b": [1, 2], "a": true}')))
        assert written.fields == {"metadata": V.JSON('{"a":true,"b":[1,2]}')}, "the JSON value, not a string of it"
        row = (await engine.list_rows("messages", seqsync.ListRowsOptions(filter={"id": V.TEXT(message.id)})))[0]
        assert row.values["metadata"] == V.JSON('{"a":true,"b":[1,2]}')
        await engine.shutdown()

    asyncio.run(run())
