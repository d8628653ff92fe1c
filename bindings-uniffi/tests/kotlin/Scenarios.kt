// The bindings' shared scenarios (bindings-tests/scenarios.json) through the GENERATED Kotlin (uniffi) over the real
// libseqsync, on the JVM, against the real server-example over loopback: the third suite beside Node
// (bindings-node/__test__/scenarios.test.mjs) and Python (bindings-uniffi/tests/python/test_scenarios.py). A
// scenario without a Kotlin implementation fails the run. Usage: Scenarios <scenarios.json> <server-example>.
package seqsync.tests

import com.google.gson.JsonObject
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import uniffi.seqsync.CancelHandle
import uniffi.seqsync.ListRowsOptions
import uniffi.seqsync.OpenOptions
import uniffi.seqsync.ProgressListener
import uniffi.seqsync.SeqsyncException
import uniffi.seqsync.SqlValue
import uniffi.seqsync.SyncEngine
import uniffi.seqsync.SyncProgress
import uniffi.seqsync.openEngine

/** The Node addon's `error.code` of a SeqsyncException: its variant in snake case. */
fun codeOf(error: Throwable): String {
    assertTrue(error is SeqsyncException, "not a SeqsyncException: $error")
    return error::class.simpleName!!.replace(Regex("(?<!^)(?=[A-Z])"), "_").lowercase()
}

suspend fun open(world: World, name: String, options: (OpenOptions) -> OpenOptions = { it }): SyncEngine =
    openEngine(options(OpenOptions(dbPath = "${world.dir}/$name", serverUrl = world.server.url, token = world.token,
        integrationId = world.integration, maxRetries = 0u)))

/** Collects progress events (called on the binding's threads); [onEvent] may act on each. */
class Events(private val onEvent: (SyncProgress) -> Unit = {}) : ProgressListener {
    val events: MutableList<SyncProgress> = java.util.Collections.synchronizedList(mutableListOf())
    override fun onProgress(progress: SyncProgress) {
        events += progress
        onEvent(progress)
    }
}

suspend fun cursors(engine: SyncEngine) = engine.syncState().associate { it.collection to it.lastSeq }

val pageSizes = mapOf("conversations" to 100u, "messages" to 1500u, "contacts" to 500u)

fun pageSizesOf(setup: JsonObject?): Map<String, UInt>? =
    setup?.get("page_sizes")?.asJsonObject?.entrySet()?.associate { (k, v) -> k to v.asInt.toUInt() }

suspend fun fullSync(world: World, scenario: JsonObject) {
    val engine = open(world, "full.db") { it.copy(pageSizes = pageSizes) }
    val report = engine.syncAll()
    val stats = engine.stats()
    assertEquals(world.expected, stats.counts)
    assertEquals(world.expected.values.sum(), report.rows)
    assertEquals("${world.dir}/full.db", stats.path)
    assertTrue(stats.fileSizeBytes > 0u)
    assertEquals(latestSeqs(world.server.status(world.token, world.integration)), cursors(engine))
    assertEquals(0uL, engine.syncAll().rows, "a second sync has nothing to do")
    engine.shutdown()
}

suspend fun progressInOrder(world: World, scenario: JsonObject) {
    val engine = open(world, "progress.db") { it.copy(pageSizes = pageSizes) }
    val listener = Events()
    val report = engine.syncAll(listener)
    val events = listener.events.toList()
    assertEquals("started", events.first().stage)
    assertEquals("finished", events.last().stage)
    assertEquals(report.rows, events.last().applied)
    val last = mutableMapOf<String, SyncProgress>()
    for (e in events) {
        val collection = e.collection ?: continue
        last[collection]?.let { previous ->
            assertTrue(previous.stage != "collection_done", "no event of $collection after it is done")
            assertTrue(e.applied >= previous.applied && e.pages >= previous.pages && e.cursor >= previous.cursor)
        }
        last[collection] = e
    }
    assertEquals(world.expected.keys.sorted(), last.keys.sorted())
    for ((collection, e) in last) {
        assertEquals("collection_done", e.stage)
        assertEquals(world.expected[collection], e.applied, "$collection ends at its total")
        assertEquals(world.expected[collection], e.total)
        assertEquals(e.targetSeq, e.cursor)
    }
    assertTrue(events.count { it.collection == "messages" } >= 2, "the messages bar moves before it is done")
    engine.shutdown()
}

suspend fun reads(world: World, scenario: JsonObject) {
    val engine = open(world, "reads.db")
    engine.syncAll()
    val newest = ListRowsOptions(orderBy = "last_message_at", descending = true, limit = 10u)
    val pages = engine.listRows("conversations", newest) + engine.listRows("conversations", newest.copy(offset = 10u))
    assertEquals(20, pages.size)
    val times = pages.map { (it.values["last_message_at"] as? SqlValue.Integer)?.value ?: 0L }
    assertEquals(times.sortedDescending(), times, "newest first")
    assertEquals(20, pages.map { it.id }.toSet().size, "pages do not overlap")
    assertTrue(pages[0].values["is_group"] is SqlValue.Bool, "booleans as booleans")

    val conversation = SqlValue.Text(pages[0].id)
    val messages = engine.listRows("messages",
        ListRowsOptions(filter = mapOf("conversation_id" to conversation), orderBy = "sent_at", limit = 1000u))
    val count = engine.query("SELECT COUNT(*) FROM messages WHERE integration_id = ? AND conversation_id = ?",
        listOf(SqlValue.Text(world.integration), conversation))
    assertEquals(messages.size.toLong(), (count.rows[0][0] as SqlValue.Integer).value)
    assertTrue(messages.all { it.values["conversation_id"] == conversation })

    val grouped = engine.query("SELECT message_type, COUNT(*) AS n FROM messages WHERE integration_id = ?1 " +
        "GROUP BY message_type ORDER BY n DESC", listOf(SqlValue.Text(world.integration)))
    assertEquals(listOf("message_type", "n"), grouped.columns)
    assertEquals(world.expected["messages"]!!.toLong(), grouped.rows.sumOf { (it[1] as SqlValue.Integer).value })
    engine.shutdown()
}

suspend fun reset(world: World, scenario: JsonObject) {
    val engine = open(world, "reset.db")
    engine.syncCollection("contacts")
    assertEquals(listOf("contacts"), cursors(engine).keys.toList())
    assertEquals(world.expected["contacts"], engine.stats().counts["contacts"])
    engine.reset()
    assertEquals(emptyList(), engine.syncState())
    assertEquals(0uL, engine.stats().counts["contacts"])
    engine.syncAll()
    assertEquals(world.expected, engine.stats().counts)
    engine.shutdown()
    assertTrue(engine.isClosed())
}

suspend fun cancelResume(world: World, scenario: JsonObject) {
    val setup = scenario["setup"].asJsonObject
    val engine = open(world, "cancel.db") {
        it.copy(pageSizes = pageSizesOf(setup), progressIntervalMs = setup["progress_interval_ms"].asInt.toUInt())
    }
    val handle: CancelHandle = engine.cancelHandle()
    val listener = Events { if (it.collection == "messages" && it.applied > 0u) handle.cancel() }
    val error = assertFailsWith<SeqsyncException.Cancelled> { engine.syncAll(listener, handle) }
    assertTrue(error.message!!.contains("resumes"), error.message)
    assertTrue(handle.isCancelled())
    val cursor = cursors(engine)["messages"] ?: 0L
    val partial = engine.stats().counts["messages"]!!
    assertTrue(partial > 0u && partial < world.expected["messages"]!!, "stopped part way ($partial)")
    assertTrue(cursor > 0)
    val behind = engine.query("SELECT COUNT(*) FROM messages WHERE seq <= ?", listOf(SqlValue.Integer(cursor)))
    assertEquals(partial.toLong(), (behind.rows[0][0] as SqlValue.Integer).value, "stopped on a page boundary")

    val report = engine.syncAll()
    assertEquals(cursor, report.collections.first { it.collection == "messages" }.cursorBefore, "resumed")
    assertEquals(world.expected, engine.stats().counts)

    val cancelled = engine.cancelHandle()
    cancelled.cancel()
    assertFailsWith<SeqsyncException.Cancelled> { engine.syncAll(cancel = cancelled) }
    engine.shutdown()
}

suspend fun closeCancels(world: World, scenario: JsonObject) = coroutineScope {
    val engine = open(world, "close.db") { it.copy(pageSizes = pageSizesOf(scenario["setup"].asJsonObject)) }
    val running = async { runCatching { engine.syncAll() } }
    delay(20)
    engine.shutdown()
    val error = running.await().exceptionOrNull()
    assertTrue(error != null, "the sync failed")
    assertEquals("cancelled", codeOf(error))
}
