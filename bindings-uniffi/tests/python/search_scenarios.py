"""The shared search scenarios (bindings-tests/scenarios.json, `kind: search`) in Python: highlights with the text
escaped, any typed text a valid plain query, advanced-mode and filter errors by code, newest-first order with
filters and paging, and edits and deletes arriving by sync changing the results. test_scenarios.py runs them."""

import re

import pytest
import seqsync

V = seqsync.SqlValue
Options = seqsync.SearchOptions


def has_word(text):
    """A query holds a word only if it has a letter or a digit; one without finds nothing."""
    return any(c.isalnum() for c in text)


async def ids(engine, query, options=None):
    return [h.id for h in await engine.search(query, options)]


def search_scenarios(open_engine, new_message, pushed, code_of):
    """The implementations, keyed by scenario id, over the scenario suite's helpers."""

    async def synced(world, scenario):
        """A client synced with the server, and two conversations of its replica."""
        engine = await open_engine(world, f"{scenario['id']}.db")
        await engine.sync_all()
        rows = await engine.list_rows("conversations", seqsync.ListRowsOptions(order_by="id", limit=2))
        return engine, [r.id for r in rows]

    async def insert(engine, id, conversation, body):
        """Inserts a message of `conversation` with `body`, locally."""
        write = new_message(id, conversation)
        write.fields["body"] = V.TEXT(body)
        return await engine.mutate(write)

    async def search_plain(world, scenario):
        engine, conversations = await synced(world, scenario)
        id = f"{scenario['id']}-m"
        await insert(engine, id, conversations[0], scenario["body"])
        hits = await engine.search(scenario["query"])
        assert [(h.collection, h.id, h.snippet) for h in hits] == [("messages", id, scenario["snippet"])]
        assert hits[0].rank is None, "recent order computes no rank"
        custom = Options(highlight_open="[", highlight_close="]", escape_html=False)
        assert [h.snippet for h in await engine.search(scenario["query"], custom)] == [scenario["custom_snippet"]]
        assert await ids(engine, scenario["prefix"], Options(mode=seqsync.SearchMode.PREFIX)) == [id]
        assert await ids(engine, scenario["prefix"]) == [], "a plain word is a whole word"
        await engine.shutdown()

    async def search_hostile(world, scenario):
        engine, _ = await synced(world, scenario)
        for query in scenario["queries"]:
            for mode in (seqsync.SearchMode.PLAIN, seqsync.SearchMode.PREFIX):
                for order in (seqsync.SearchOrder.RECENT, seqsync.SearchOrder.RELEVANCE):
                    hits = await engine.search(query, Options(mode=mode, order=order))
                    assert isinstance(hits, list), (query, mode, order)
                    if not has_word(query):
                        assert hits == [], f"{query!r} has no word"
        await engine.shutdown()

    async def search_advanced_error(world, scenario):
        engine, _ = await synced(world, scenario)

        async def fails(query, options, message):
            with pytest.raises(seqsync.SeqsyncError) as caught:
                await engine.search(query, options)
            assert code_of(caught.value) == scenario["code"], str(caught.value)
            assert re.search(message, str(caught.value)), str(caught.value)

        advanced = Options(mode=seqsync.SearchMode.ADVANCED)
        await fails(scenario["query"], advanced, scenario["message"])
        await fails("zanzibar OR NOT", advanced, scenario["message"])
        column = scenario["filter_column"]
        await fails("message", Options(collections=["messages"], filter={column: V.TEXT("x")}), column)
        assert isinstance(await engine.search("message OR text", advanced), list)
        await engine.shutdown()

    async def search_filter(world, scenario):
        engine, conversations = await synced(world, scenario)
        first, second = f"{scenario['id']}-1", f"{scenario['id']}-2"
        await insert(engine, first, conversations[0], scenario["bodies"][0])
        await insert(engine, second, conversations[1], scenario["bodies"][1])
        recent = await engine.search("platypus")
        assert [(h.id, h.rank) for h in recent] == [(second, None), (first, None)], "newest first"
        in_first = Options(filter={"conversation_id": V.TEXT(conversations[0])})
        assert await ids(engine, "platypus", in_first) == [first]
        assert await ids(engine, "platypus", Options(limit=1, offset=1)) == [first]
        relevance = await engine.search("platypus", Options(order=seqsync.SearchOrder.RELEVANCE))
        assert sorted(h.id for h in relevance) == [first, second]
        assert all(isinstance(h.rank, float) for h in relevance), "relevance computes the rank"
        assert relevance[0].rank <= relevance[1].rank, "best first"
        await engine.shutdown()

    async def search_after_edit(world, scenario):
        writer, conversations = await synced(world, scenario)
        reader = await open_engine(world, f"{scenario['id']}-reader.db")
        before, after = scenario["bodies"]
        id = f"{scenario['id']}-m"

        def word(body):
            return body.split(" ")[0]

        await pushed(writer, await insert(writer, id, conversations[0], before), "applied")
        await reader.sync_all()
        assert await ids(reader, word(before)) == [id]
        update = seqsync.WriteInput(collection="messages", id=id, op=seqsync.WriteOp.UPDATE,
                                    fields={"body": V.TEXT(after)})
        await pushed(writer, await writer.mutate(update), "applied")
        await reader.sync_all()
        assert await ids(reader, word(before)) == [], "the edit replaced the old text"
        assert await ids(reader, word(after)) == [id]
        delete = seqsync.WriteInput(collection="messages", id=id, op=seqsync.WriteOp.DELETE, fields=None)
        await pushed(writer, await writer.mutate(delete), "applied")
        await reader.sync_all()
        assert await ids(reader, word(after)) == [], "the delete removed it"
        await writer.shutdown()
        await reader.shutdown()

    return {
        "search_plain": search_plain,
        "search_hostile": search_hostile,
        "search_advanced_error": search_advanced_error,
        "search_filter": search_filter,
        "search_after_edit": search_after_edit,
    }
