// Kotlin-only checks, run after the shared scenarios: `follow` in a coroutine against the live server (the twin of
// bindings-uniffi/tests/python/test_live.py and bindings-node/__test__/live.test.mjs), and the engine as the
// `AutoCloseable` every uniffi object is in Kotlin.
package seqsync.tests

import com.google.gson.JsonParser
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import uniffi.seqsync.ChangeListener
import uniffi.seqsync.RowChanges

const val LIVE = "wa-kt-live"

/** Collects the changes, called on the binding's threads. */
class Changes : ChangeListener {
    val changes: MutableList<RowChanges> = java.util.Collections.synchronizedList(mutableListOf())
    override fun onChange(changes: RowChanges) {
        this.changes += changes
    }

    /** Whether every non-empty collection of a /sync/status answer was heard at its latest seq. */
    fun caughtUp(status: com.google.gson.JsonObject): Boolean {
        val heard = synchronized(changes) { changes.toList() }.groupBy { it.collection }
            .mapValues { (_, c) -> c.maxOf { it.cursor } }
        return status["collections"].asJsonObject.entrySet().all { (name, c) ->
            c.asJsonObject["count"].asLong == 0L || (heard[name] ?: 0L) >= c.asJsonObject["latest_seq"].asLong
        }
    }
}

suspend fun until(what: String, predicate: () -> Boolean) = withTimeout(20_000) {
    while (!predicate()) delay(10)
}

/** A seed run by another process on the server's file reaches `follow`'s listener; cancelling returns. */
suspend fun followSeesAnotherProcess(world: World) = coroutineScope {
    val serverDb = File(world.dir, "server.db")
    fun sizes(messages: Int) =
        JsonParser.parseString("""{"conversations": 3, "messages": $messages, "contacts": 3}""").asJsonObject
    withContext(Dispatchers.IO) { seed(world.serverBinary, serverDb, LIVE, sizes(100)) }
    val engine = open(world, "live.db") { it.copy(token = world.adminToken, integrationId = LIVE) }
    val listener = Changes()
    val cancel = engine.cancelHandle()
    val following = async { engine.follow(listener, cancel) }
    until("the first sync") { listener.caughtUp(world.server.status(world.adminToken, LIVE)) }
    val initial = engine.stats().counts

    // The seed is deterministic: a second run with more messages adds the difference.
    withContext(Dispatchers.IO) { seed(world.serverBinary, serverDb, LIVE, sizes(160)) }
    val status = world.server.status(world.adminToken, LIVE)
    assertTrue(counts(status)["messages"]!! > initial["messages"]!!, "the second seed added messages")
    until("the live change") { listener.caughtUp(status) }
    assertEquals(counts(status), engine.stats().counts, "the replica followed the server")
    assertTrue(listener.changes.all { it.integrationId == LIVE })
    assertTrue(following.isActive, "follow runs until cancelled")

    cancel.cancel()
    withTimeout(10_000) { following.await() }
    engine.shutdown()
}

/** `use {}` (AutoCloseable.close: frees the handle) after `shutdown()`; a freed engine is not callable. */
suspend fun engineIsAutoCloseable(world: World) {
    val engine = open(world, "closeable.db")
    engine.use {
        it.shutdown()
        assertFailsWith<uniffi.seqsync.SeqsyncException.Closed> { it.stats() }
    }
    assertFailsWith<IllegalStateException> { engine.isClosed() }
}

val kotlinChecks: Map<String, suspend (World) -> Unit> = mapOf(
    "follow sees a write by another process" to ::followSeesAnotherProcess,
    "the engine is AutoCloseable" to ::engineIsAutoCloseable,
)
