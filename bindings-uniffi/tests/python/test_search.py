"""search(): full-text search of the replica after a sync from the real server-example, compared with the server's
own messages (read over HTTP, matched in Python); a bad advanced query is an InvalidQuery error."""

import asyncio
import json
import re
import unicodedata
import urllib.request

import pytest
import seqsync
from test_scenarios import open_engine


def words(text):
    """The words of a text as the index sees them: diacritics removed, lower-cased, split on all but letters and
    digits."""
    folded = "".join(c for c in unicodedata.normalize("NFD", text or "") if not unicodedata.combining(c)).lower()
    return [w for w in re.split(r"[\W_]+", folded) if w]


def server_messages(world):
    url = f"{world.server.url}/sync/messages/{world.integration}?since_seq=0&limit=10000"
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {world.token}"})
    with urllib.request.urlopen(request) as response:
        page = json.load(response)
    assert not page["has_more"]
    return [m for m in page["messages"] if not m.get("deleted")]


def expected(messages, query, conversation=None):
    wanted = words(query)
    return sorted(m["id"] for m in messages
                  if (conversation is None or m["conversation_id"] == conversation)
                  and all(w in words(m["body"]) for w in wanted))


def test_search_finds_what_the_server_holds_and_reports_a_bad_query(world):
    async def run():
        engine = await open_engine(world, "search.db")
        await engine.sync_all()
        messages = server_messages(world)
        sample = next(m for m in messages if len(words(m["body"])) >= 2)
        first, second = words(sample["body"])[:2]
        for query in [first, f"{first} {second}", first.upper()]:
            hits = await engine.search(query, seqsync.SearchOptions(limit=10_000))
            assert sorted(h.id for h in hits) == expected(messages, query), query
            assert all(h.collection == "messages" and "<mark>" in h.snippet for h in hits)
            assert all(h.rank is None for h in hits), "recent order computes no rank"
            ranked = await engine.search(query, seqsync.SearchOptions(limit=10_000, order=seqsync.SearchOrder.RELEVANCE))
            assert sorted(h.id for h in ranked) == expected(messages, query), query
            assert [h.rank for h in ranked] == sorted(h.rank for h in ranked)
        # The default order: newest first, which in a replica synced in order is the server's seq order.
        matching = set(expected(messages, first))
        newest = [m["id"] for m in sorted(messages, key=lambda m: -m["seq"]) if m["id"] in matching][:5]
        assert [h.id for h in await engine.search(first, seqsync.SearchOptions(limit=5))] == newest
        conversation = sample["conversation_id"]
        options = seqsync.SearchOptions(filter={"conversation_id": seqsync.SqlValue.TEXT(conversation)}, limit=10_000)
        hits = await engine.search(first, options)
        assert sorted(h.id for h in hits) == expected(messages, first, conversation)
        prefix = await engine.search(first[:2], seqsync.SearchOptions(mode=seqsync.SearchMode.PREFIX, limit=1))
        assert len(prefix) == 1
        assert isinstance(await engine.search('" AND ( -* 🎉'), list), "any typed text is a plain query"
        with pytest.raises(seqsync.SeqsyncError.InvalidQuery, match="FTS5"):
            await engine.search("x AND (", seqsync.SearchOptions(mode=seqsync.SearchMode.ADVANCED))
        await engine.shutdown()

    asyncio.run(run())
