// The shared selective-sync scenarios (bindings-tests/scenarios.json: `subscribe_archive`, `recent_first`) in
// Kotlin: subscriptions kept, archived, evicted and undone; a recent-first sync's readiness events in order.
package seqsync.tests

import com.google.gson.JsonObject
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import uniffi.seqsync.RecentFirstEvent
import uniffi.seqsync.RecentFirstListener
import uniffi.seqsync.SeqsyncException
import uniffi.seqsync.SqlValue

suspend fun subscribeArchive(world: World, scenario: JsonObject) {
    val engine = open(world, "subscribe.db")
    engine.syncAll()
    val full = engine.stats().counts
    val grouped = engine.query("SELECT conversation_id, COUNT(*) FROM messages GROUP BY conversation_id " +
        "ORDER BY conversation_id LIMIT 2", emptyList())
    val (a, countA) = grouped.rows[0].let { (it[0] as SqlValue.Text).value to (it[1] as SqlValue.Integer).value }
    val (b, countB) = grouped.rows[1].let { (it[0] as SqlValue.Text).value to (it[1] as SqlValue.Integer).value }
    var subscription = engine.subscribe(listOf(a, b))
    assertFalse(subscription.everything)
    assertEquals(listOf(a to false, b to false), subscription.values.map { it.value to it.archived })
    assertEquals(0uL, engine.syncAll().rows, "the kept conversations are current")
    val held = engine.stats().counts
    assertEquals(listOf(2uL, (countA + countB).toULong(), full["contacts"]),
        listOf(held["conversations"], held["messages"], held["contacts"]))
    subscription = engine.archive(listOf(a))
    assertEquals(listOf(true, false), subscription.values.map { it.archived })
    assertEquals(0uL, engine.syncAll().rows)
    engine.unsubscribe(listOf(b))
    assertEquals(countA.toULong(), engine.stats().counts["messages"], "evicted at once; the archived one stays")
    val refused = runCatching { engine.archive(listOf(b)) }.exceptionOrNull()
    assertTrue(refused is SeqsyncException, "fails with a SeqsyncException, not $refused")
    assertEquals("invalid_argument", codeOf(refused))
    assertTrue(engine.subscribeEverything().everything)
    assertEquals(0uL, engine.stats().counts["messages"] ?: 0uL)
    engine.syncAll()
    assertEquals(counts(world.server.status(world.token, world.integration)), engine.stats().counts)
    engine.shutdown()
}

/** Collects readiness events (called on the binding's threads). */
class RecentEvents : RecentFirstListener {
    val events: MutableList<RecentFirstEvent> = java.util.Collections.synchronizedList(mutableListOf())
    override fun onEvent(event: RecentFirstEvent) {
        events += event
    }
}

suspend fun recentFirst(world: World, scenario: JsonObject) {
    val lister = open(world, "recent-list.db")
    lister.syncCollection("conversations")
    val last = lister.query("SELECT id FROM conversations ORDER BY id DESC LIMIT 1", emptyList())
    lister.shutdown()
    val prioritized = (last.rows[0][0] as SqlValue.Text).value
    val engine = open(world, "recent.db")
    engine.prioritize(prioritized)
    val listener = RecentEvents()
    engine.syncRecentFirst(perValue = 5u, listener = listener)
    val expected = counts(world.server.status(world.token, world.integration))
    val events = listener.events.toList()
    assertEquals(RecentFirstEvent.ChatListReady(expected["conversations"]!!.toUInt()), events[0])
    val heads = events.filterIsInstance<RecentFirstEvent.HeadLanded>().map { it.value }
    assertEquals(heads.size, heads.toSet().size, "each conversation once")
    assertEquals(expected["conversations"]!!.toInt(), heads.size)
    assertEquals(listOf(prioritized), events.filterIsInstance<RecentFirstEvent.HistoryLanded>().map { it.value })
    assertEquals(expected, engine.stats().counts)
    assertEquals(0uL, engine.syncAll().rows)
    engine.shutdown()
}
