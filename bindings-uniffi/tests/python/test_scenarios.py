"""The bindings' shared scenarios (bindings-tests/scenarios.json) through the generated Python package, against the
real server-example over loopback. The Node addon runs the same list (bindings-node/__test__/scenarios.test.mjs)."""

import asyncio
import re

import pytest
import seqsync
from conftest import SCENARIOS, Server
from media_scenarios import media_control, media_download
from search_scenarios import search_scenarios

V = seqsync.SqlValue


def code_of(error):
    """The Node addon's `error.code` of a SeqsyncError: its variant in snake case."""
    assert isinstance(error, seqsync.SeqsyncError), f"not a SeqsyncError: {error!r}"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


async def open_engine(world, name, **extra):
    options = dict(db_path=str(world.dir / name), server_url=world.server.url, token=world.token,
                   integration_id=world.integration, max_retries=0)
    options.update(extra)
    return await seqsync.open_engine(seqsync.OpenOptions(**options))


class Events(seqsync.ProgressListener):
    """Collects progress events (called on the binding's threads); `on_event` may act on each."""

    def __init__(self, on_event=None):
        self.events = []
        self.on_event = on_event

    def on_progress(self, progress):
        self.events.append(progress)
        if self.on_event:
            self.on_event(progress)


async def cursors(engine):
    return {c.collection: c.last_seq for c in await engine.sync_state()}


async def full_sync(world, scenario):
    engine = await open_engine(world, "full.db", page_sizes={"conversations": 100, "messages": 1500, "contacts": 500})
    report = await engine.sync_all()
    stats = await engine.stats()
    assert stats.counts == world.expected
    assert report.rows == sum(world.expected.values())
    assert stats.path == str(world.dir / "full.db")
    assert stats.file_size_bytes > 0
    status = world.server.status(world.token, world.integration)
    assert await cursors(engine) == {name: c["latest_seq"] for name, c in status["collections"].items()}
    again = await engine.sync_all()
    assert again.rows == 0, "a second sync has nothing to do"
    await engine.shutdown()


async def progress_in_order(world, scenario):
    engine = await open_engine(world, "progress.db", page_sizes={"conversations": 100, "messages": 1500,
                                                                 "contacts": 500})
    listener = Events()
    report = await engine.sync_all(listener=listener)
    events = listener.events
    assert events[0].stage == "started"
    assert events[-1].stage == "finished"
    assert events[-1].applied == report.rows
    last = {}
    for e in (e for e in events if e.collection):
        previous = last.get(e.collection)
        if previous:
            assert previous.stage != "collection_done", f"no event of {e.collection} after it is done"
            assert e.applied >= previous.applied and e.pages >= previous.pages and e.cursor >= previous.cursor
        last[e.collection] = e
    assert sorted(last) == sorted(world.expected)
    for collection, e in last.items():
        assert e.stage == "collection_done"
        assert e.applied == world.expected[collection], f"{collection} ends at its total"
        assert e.total == world.expected[collection]
        assert e.cursor == e.target_seq
    assert len([e for e in events if e.collection == "messages"]) >= 2, "the messages bar moves before it is done"
    await engine.shutdown()


async def reads(world, scenario):
    engine = await open_engine(world, "reads.db")
    await engine.sync_all()
    newest = dict(order_by="last_message_at", descending=True, limit=10)
    page1 = await engine.list_rows("conversations", seqsync.ListRowsOptions(**newest))
    page2 = await engine.list_rows("conversations", seqsync.ListRowsOptions(**newest, offset=10))
    assert len(page1) == 10 and len(page2) == 10
    times = [r.values["last_message_at"].value if r.values["last_message_at"].is_integer() else 0
             for r in page1 + page2]
    assert times == sorted(times, reverse=True), "newest first"
    assert len({r.id for r in page1 + page2}) == 20, "pages do not overlap"
    assert page1[0].values["is_group"].is_bool(), "booleans as booleans"

    conversation = page1[0].id
    messages = await engine.list_rows("messages", seqsync.ListRowsOptions(
        filter={"conversation_id": V.TEXT(conversation)}, order_by="sent_at", limit=1000))
    count = await engine.query("SELECT COUNT(*) FROM messages WHERE integration_id = ? AND conversation_id = ?",
                               [V.TEXT(world.integration), V.TEXT(conversation)])
    assert len(messages) == count.rows[0][0].value
    assert all(m.values["conversation_id"] == V.TEXT(conversation) for m in messages)

    grouped = await engine.query("SELECT message_type, COUNT(*) AS n FROM messages WHERE integration_id = ?1 "
                                 "GROUP BY message_type ORDER BY n DESC", [V.TEXT(world.integration)])
    assert grouped.columns == ["message_type", "n"]
    assert sum(row[1].value for row in grouped.rows) == world.expected["messages"]
    await engine.shutdown()


async def reset(world, scenario):
    engine = await open_engine(world, "reset.db")
    await engine.sync_collection("contacts")
    assert list(await cursors(engine)) == ["contacts"]
    assert (await engine.stats()).counts["contacts"] == world.expected["contacts"]
    await engine.reset()
    assert await engine.sync_state() == []
    assert (await engine.stats()).counts["contacts"] == 0
    await engine.sync_all()
    assert (await engine.stats()).counts == world.expected
    await engine.shutdown()
    assert engine.is_closed()


async def cancel_resume(world, scenario):
    engine = await open_engine(world, "cancel.db", **scenario["setup"])
    handle = engine.cancel_handle()

    def cancel_on_first_messages_page(p):
        if p.collection == "messages" and p.applied > 0:
            handle.cancel()

    with pytest.raises(seqsync.SeqsyncError.Cancelled, match="resumes"):
        await engine.sync_all(listener=Events(cancel_on_first_messages_page), cancel=handle)
    assert handle.is_cancelled()
    cursor = (await cursors(engine)).get("messages", 0)
    partial = (await engine.stats()).counts["messages"]
    assert 0 < partial < world.expected["messages"], f"stopped part way ({partial} of {world.expected['messages']})"
    assert cursor > 0
    behind = await engine.query("SELECT COUNT(*) FROM messages WHERE seq <= ?", [V.INTEGER(cursor)])
    assert behind.rows[0][0].value == partial, "rows and cursor agree: the sync stopped on a page boundary"

    report = await engine.sync_all()
    messages = next(c for c in report.collections if c.collection == "messages")
    assert messages.cursor_before == cursor, "resumed from the cursor"
    assert (await engine.stats()).counts == world.expected

    cancelled = engine.cancel_handle()
    cancelled.cancel()
    with pytest.raises(seqsync.SeqsyncError.Cancelled):
        await engine.sync_all(cancel=cancelled)
    await engine.shutdown()


async def close_cancels(world, scenario):
    engine = await open_engine(world, "close.db", **scenario["setup"])
    running = asyncio.ensure_future(engine.sync_all())
    await asyncio.sleep(0.02)
    await engine.shutdown()
    with pytest.raises(seqsync.SeqsyncError) as caught:
        await running
    assert code_of(caught.value) == "cancelled"


class Outcomes(seqsync.WriteListener):
    """Collects the outcomes of pushed writes (called on the binding's threads)."""

    def __init__(self):
        self.outcomes = []

    def on_write(self, outcome):
        self.outcomes.append(outcome)


def sql(value):
    """A scenario's JSON value as an SqlValue (booleans before integers: a bool is an int in Python)."""
    if value is None:
        return V.NULL()
    if isinstance(value, bool):
        return V.BOOL(value)
    if isinstance(value, int):
        return V.INTEGER(value)
    return V.TEXT(value)


def write_input(write):
    """A scenario's `write` (the Node addon's mutate argument) as a WriteInput."""
    fields = {name: sql(value) for name, value in write.get("fields", {}).items()}
    return seqsync.WriteInput(collection=write["collection"], id=write["id"],
                              op=getattr(seqsync.WriteOp, write["op"].upper()), fields=fields)


def new_message(id, conversation):
    """A new message of `conversation`, every required field given."""
    return write_input({"collection": "messages", "id": id, "op": "insert", "fields": {
        "conversation_id": conversation, "wa_message_id": f"wa-{id}", "from_me": True, "body": "written by a scenario",
        "message_type": "text", "status": "pending", "sent_at": 1_700_000_000_000}})


async def first(engine, collection, id):
    rows = await engine.list_rows(collection, seqsync.ListRowsOptions(filter={"id": V.TEXT(id)}))
    return rows[0] if rows else None


async def synced(world, scenario):
    """A client synced with the server, a message of its replica, and its messages count (the server has what
    earlier write scenarios pushed: counts are taken from here, not from `world.expected`)."""
    engine = await open_engine(world, f"{scenario['id']}.db")
    await engine.sync_all()
    newest = seqsync.ListRowsOptions(order_by="seq", descending=True, limit=1)
    sample = (await engine.list_rows("messages", newest))[0]
    return engine, sample, (await engine.stats()).counts["messages"]


async def pushed(engine, mutation, status):
    """sync_all pushes `mutation` with outcome `status` and leaves nothing pending."""
    listener = Outcomes()
    await engine.sync_all(writes=listener)
    got = [(o.mutation_id, o.id, type(o.status).__name__.split(".")[-1].lower()) for o in listener.outcomes]
    assert got == [(mutation.mutation_id, mutation.id, status)]
    assert await engine.pending_writes() == []
    return listener.outcomes


async def read_back(world, scenario):
    """A second client, synced: it reads what the first pushed."""
    other = await open_engine(world, f"{scenario['id']}-other.db")
    await other.sync_all()
    return other


def text(row, column):
    return row.values[column].value


async def write_insert(world, scenario):
    engine, sample, _ = await synced(world, scenario)
    mutation = await engine.mutate(new_message(f"{scenario['id']}-m", sample.values["conversation_id"].value))
    assert text(await first(engine, "messages", mutation.id), "body") == "written by a scenario", "shown at once"
    pending = await engine.pending_writes()
    assert [(w.mutation.mutation_id, w.state.is_pending(), w.mutation.base_seq) for w in pending] == \
        [(mutation.mutation_id, True, None)]
    [outcome] = await pushed(engine, mutation, "applied")
    assert outcome.status.seq > 0
    await engine.shutdown()
    other = await read_back(world, scenario)
    assert text(await first(other, "messages", mutation.id), "body") == "written by a scenario"
    await other.shutdown()


async def write_offline(world, scenario):
    name = f"{scenario['id']}.db"
    engine = await open_engine(world, name)
    await engine.sync_all()
    sample = (await engine.list_rows("messages", seqsync.ListRowsOptions(limit=1)))[0]
    await engine.shutdown()
    down = Server(world.dir / "down.db", {"x": "y"})
    down.stop()
    offline = await open_engine(world, name, server_url=down.url)
    mutation = await offline.mutate(new_message(f"{scenario['id']}-m", sample.values["conversation_id"].value))
    assert await first(offline, "messages", mutation.id) is not None, "shown at once, offline"
    with pytest.raises(seqsync.SeqsyncError.Network):
        await offline.sync_all()
    assert [w.state.is_pending() for w in await offline.pending_writes()] == [True]
    await offline.shutdown()
    online = await open_engine(world, name)
    await pushed(online, mutation, "applied")
    await online.shutdown()
    other = await read_back(world, scenario)
    assert await first(other, "messages", mutation.id) is not None, "the second client reads it"
    await other.shutdown()


async def write_rejected(world, scenario):
    engine, _, messages = await synced(world, scenario)
    mutation = await engine.mutate(new_message(f"{scenario['id']}-m", "no-such-conversation"))
    assert (await engine.stats()).counts["messages"] == messages + 1, "shown at once"
    [outcome] = await pushed(engine, mutation, "rejected")
    assert outcome.status.code == "conversation_missing"
    assert "no-such-conversation" in outcome.status.message
    assert await first(engine, "messages", mutation.id) is None, "rolled back"
    assert (await engine.stats()).counts["messages"] == messages
    await engine.shutdown()


async def write_update_patch(world, scenario):
    engine, sample, _ = await synced(world, scenario)
    mutation = await engine.mutate(write_input({"collection": "messages", "id": sample.id, "op": "update",
                                                "fields": {"body": "patched"}}))
    assert mutation.base_seq == sample.seq
    local = await first(engine, "messages", sample.id)
    assert local.values == {**sample.values, "body": V.TEXT("patched")}, "that field only, at once"
    await pushed(engine, mutation, "applied")
    await engine.shutdown()
    other = await read_back(world, scenario)
    read = await first(other, "messages", sample.id)
    assert [read.values[c] for c in ("body", "wa_message_id", "sent_at")] == \
        [V.TEXT("patched"), sample.values["wa_message_id"], sample.values["sent_at"]]
    await other.shutdown()


async def write_delete(world, scenario):
    engine, sample, messages = await synced(world, scenario)
    mutation = await engine.mutate(write_input({"collection": "messages", "id": sample.id, "op": "delete"}))
    assert await first(engine, "messages", sample.id) is None, "gone at once"
    assert (await engine.stats()).counts["messages"] == messages - 1
    await pushed(engine, mutation, "applied")
    await engine.shutdown()
    other = await read_back(world, scenario)
    assert await first(other, "messages", sample.id) is None
    await other.shutdown()


async def error(world, scenario):
    """Any `kind: error` scenario: open with its setup, do `at`, expect `code` and `message`."""
    setup = dict(scenario.get("setup", {}))
    options = {}
    server = None
    if setup.pop("server", None) == "down":
        server = Server(world.dir / "down.db", {"x": "y"})
        server.stop()
        options["server_url"] = server.url
    if "token" in setup:
        options["token"] = world.admin_token if setup["token"] == "admin" else setup["token"]
    if "integration" in setup:
        options["integration_id"] = setup["integration"]
    if "schema" in setup:
        options["schema_json"] = setup["schema"]
    if "server_url" in setup:
        options["server_url"] = setup["server_url"]
    name = f"{scenario['id']}.db"

    async def act():
        engine = await open_engine(world, name, **options)
        if setup.get("synced"):
            await engine.sync_all()
        if setup.get("closed"):
            await engine.shutdown()
        try:
            if scenario["at"] == "sync":
                await engine.sync_all()
            elif scenario["at"] == "query":
                await engine.query(scenario["sql"])
            elif scenario["at"] == "list_rows":
                await engine.list_rows(scenario["collection"],
                                       seqsync.ListRowsOptions(order_by=scenario.get("order_by")))
            elif scenario["at"] == "mutate":
                await engine.mutate(write_input(scenario["write"]))
            elif scenario["at"] != "open":
                raise AssertionError(f"unknown `at`: {scenario['at']}")
        finally:
            if not setup.get("closed"):
                after = await engine.stats()
                pending = await engine.pending_writes()
                await engine.shutdown()
                check_after(after, pending)

    def check_after(stats, pending):
        if scenario["at"] == "mutate":
            assert pending == [], "nothing was written"
        if scenario["id"] == "error_write_read_only":
            assert stats.counts["contacts"] == world.expected["contacts"]
        if scenario["id"] == "error_forbidden":
            assert stats.counts.get("messages", 0) == 0, "no data of another tenant"
        if scenario["id"] == "error_write_query":
            assert stats.counts["messages"] == world.expected["messages"], "nothing was deleted"

    with pytest.raises(seqsync.SeqsyncError) as caught:
        await act()
    assert code_of(caught.value) == scenario["code"], str(caught.value)
    assert re.search(scenario["message"], str(caught.value)), str(caught.value)


IMPLEMENTATIONS = {
    "full_sync": full_sync,
    "progress_in_order": progress_in_order,
    "reads": reads,
    "reset": reset,
    "cancel_resume": cancel_resume,
    "close_cancels": close_cancels,
    "write_insert": write_insert,
    "write_offline": write_offline,
    "write_rejected": write_rejected,
    "write_update_patch": write_update_patch,
    "write_delete": write_delete,
    "media_download": lambda world, scenario: media_download(world, open_engine),
    "media_control": lambda world, scenario: media_control(world, open_engine),
}


# Selective sync and recent first (issue 17).
def server_counts(world):
    status = world.server.status(world.token, world.integration)
    return {name: c["count"] for name, c in status["collections"].items()}


async def subscribe_archive(world, scenario):
    engine = await open_engine(world, "subscribe.db")
    await engine.sync_all()
    full = (await engine.stats()).counts
    grouped = await engine.query("SELECT conversation_id, COUNT(*) FROM messages GROUP BY conversation_id "
                                 "ORDER BY conversation_id LIMIT 2", [])
    (a, count_a), (b, count_b) = [(row[0].value, row[1].value) for row in grouped.rows]
    subscription = await engine.subscribe([a, b])
    assert not subscription.everything
    assert [(v.value, v.archived) for v in subscription.values] == [(a, False), (b, False)]
    assert (await engine.sync_all()).rows == 0, "the kept conversations are current"
    held = (await engine.stats()).counts
    assert (held["conversations"], held["messages"], held["contacts"]) == (2, count_a + count_b, full["contacts"])
    subscription = await engine.archive([a])
    assert [v.archived for v in subscription.values] == [True, False]
    assert (await engine.sync_all()).rows == 0
    await engine.unsubscribe([b])
    assert (await engine.stats()).counts["messages"] == count_a, "evicted at once; the archived one stays"
    with pytest.raises(seqsync.SeqsyncError) as caught:
        await engine.archive([b])
    assert code_of(caught.value) == "invalid_argument", str(caught.value)
    assert (await engine.subscribe_everything()).everything
    assert (await engine.stats()).counts["messages"] == 0
    await engine.sync_all()
    assert (await engine.stats()).counts == server_counts(world)
    await engine.shutdown()


class RecentEvents(seqsync.RecentFirstListener):
    """Collects readiness events (called on the binding's threads)."""

    def __init__(self):
        self.events = []

    def on_event(self, event):
        self.events.append(event)


async def recent_first(world, scenario):
    lister = await open_engine(world, "recent-list.db")
    await lister.sync_collection("conversations")
    last = await lister.query("SELECT id FROM conversations ORDER BY id DESC LIMIT 1", [])
    await lister.shutdown()
    prioritized = last.rows[0][0].value
    engine = await open_engine(world, "recent.db")
    engine.prioritize(prioritized)
    listener = RecentEvents()
    await engine.sync_recent_first(per_value=5, listener=listener)
    counts = server_counts(world)
    events = listener.events
    assert events[0] == seqsync.RecentFirstEvent.CHAT_LIST_READY(values=counts["conversations"]), events[0]
    heads = [e.value for e in events if e.is_head_landed()]
    assert len(set(heads)) == len(heads) == counts["conversations"], "each conversation once"
    assert [e.value for e in events if e.is_history_landed()] == [prioritized]
    assert (await engine.stats()).counts == counts
    assert (await engine.sync_all()).rows == 0
    await engine.shutdown()


IMPLEMENTATIONS.update({"subscribe_archive": subscribe_archive, "recent_first": recent_first})
IMPLEMENTATIONS.update(search_scenarios(open_engine, new_message, pushed, code_of))


def implementation(scenario):
    return error if scenario["kind"] == "error" else IMPLEMENTATIONS.get(scenario["id"])


def test_every_scenario_has_an_implementation():
    missing = [s["id"] for s in SCENARIOS["scenarios"] if implementation(s) is None]
    assert not missing, f"scenarios of bindings-tests/scenarios.json without a Python implementation: {missing}"
    unknown = set(IMPLEMENTATIONS) - {s["id"] for s in SCENARIOS["scenarios"]}
    assert not unknown, f"implementations of no scenario: {unknown}"


@pytest.mark.parametrize("scenario", SCENARIOS["scenarios"], ids=lambda s: s["id"])
def test_scenario(world, scenario):
    run = implementation(scenario)
    assert run is not None, f"scenario {scenario['id']} has no Python implementation"
    asyncio.run(run(world, scenario))
