// The shared write scenarios (bindings-tests/scenarios.json, `kind: write`) in Kotlin: local writes shown at once,
// pushed by syncAll with their outcome to a WriteListener, read back by a second client; offline writes pushed once
// the client is reopened on the live server; a write the server's hook refuses rolled back.
package seqsync.tests

import com.google.gson.JsonElement
import com.google.gson.JsonObject
import kotlin.test.assertEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import uniffi.seqsync.ListRowsOptions
import uniffi.seqsync.Mutation
import uniffi.seqsync.Row
import uniffi.seqsync.SeqsyncException
import uniffi.seqsync.SqlValue
import uniffi.seqsync.SyncEngine
import uniffi.seqsync.WriteInput
import uniffi.seqsync.WriteListener
import uniffi.seqsync.WriteOp
import uniffi.seqsync.WriteOutcome
import uniffi.seqsync.WriteState
import uniffi.seqsync.WriteStatus

/** Collects the outcomes of pushed writes (called on the binding's threads). */
class Outcomes : WriteListener {
    val outcomes: MutableList<WriteOutcome> = java.util.Collections.synchronizedList(mutableListOf())
    override fun onWrite(outcome: WriteOutcome) {
        outcomes += outcome
    }
}

/** A scenario's JSON value as an SqlValue. */
fun sql(value: JsonElement): SqlValue {
    if (value.isJsonNull) return SqlValue.Null
    val primitive = value.asJsonPrimitive
    return when {
        primitive.isBoolean -> SqlValue.Bool(primitive.asBoolean)
        primitive.isNumber -> SqlValue.Integer(primitive.asLong)
        else -> SqlValue.Text(primitive.asString)
    }
}

/** A scenario's `write` (the Node addon's mutate argument) as a WriteInput. */
fun writeInput(write: JsonObject): WriteInput = WriteInput(
    collection = write["collection"].asString,
    id = write["id"].asString,
    op = WriteOp.valueOf(write["op"].asString.uppercase()),
    fields = write["fields"]?.asJsonObject?.entrySet()?.associate { (name, value) -> name to sql(value) },
)

/** A new message of `conversation`, every required field given. */
fun newMessage(id: String, conversation: SqlValue) = WriteInput("messages", id, WriteOp.INSERT, mapOf(
    "conversation_id" to conversation, "wa_message_id" to SqlValue.Text("wa-$id"), "from_me" to SqlValue.Bool(true),
    "body" to SqlValue.Text("written by a scenario"), "message_type" to SqlValue.Text("text"),
    "status" to SqlValue.Text("pending"), "sent_at" to SqlValue.Integer(1_700_000_000_000)))

suspend fun first(engine: SyncEngine, collection: String, id: String): Row? =
    engine.listRows(collection, ListRowsOptions(filter = mapOf("id" to SqlValue.Text(id)))).firstOrNull()

/** A client synced with the server, a message of its replica, and its messages count (the server has what earlier
 * write scenarios pushed: counts are taken from here, not from `world.expected`). */
suspend fun synced(world: World, scenario: JsonObject): Triple<SyncEngine, Row, ULong> {
    val engine = open(world, "${scenario["id"].asString}.db")
    engine.syncAll()
    val sample = engine.listRows("messages", ListRowsOptions(orderBy = "seq", descending = true, limit = 1u)).first()
    return Triple(engine, sample, engine.stats().counts["messages"]!!)
}

/** syncAll pushes `mutation` with outcome `status` and leaves nothing pending. */
suspend fun pushed(engine: SyncEngine, mutation: Mutation, status: String): List<WriteOutcome> {
    val listener = Outcomes()
    engine.syncAll(writes = listener)
    val got = listener.outcomes.map { Triple(it.mutationId, it.id, it.status::class.simpleName!!.lowercase()) }
    assertEquals(listOf(Triple(mutation.mutationId, mutation.id, status)), got)
    assertEquals(emptyList(), engine.pendingWrites())
    return listener.outcomes.toList()
}

/** A second client, synced: it reads what the first pushed. */
suspend fun readBack(world: World, scenario: JsonObject): SyncEngine =
    open(world, "${scenario["id"].asString}-other.db").also { it.syncAll() }

suspend fun writeInsert(world: World, scenario: JsonObject) {
    val (engine, sample, _) = synced(world, scenario)
    val mutation = engine.mutate(newMessage("${scenario["id"].asString}-m", sample.values["conversation_id"]!!))
    assertEquals(SqlValue.Text("written by a scenario"), first(engine, "messages", mutation.id)?.values?.get("body"))
    val pending = engine.pendingWrites()
    assertEquals(listOf(Triple(mutation.mutationId, WriteState.Pending, null as Long?)),
        pending.map { Triple(it.mutation.mutationId, it.state, it.mutation.baseSeq) })
    val outcome = pushed(engine, mutation, "applied").single()
    assertTrue(((outcome.status as WriteStatus.Applied).seq ?: 0) > 0)
    engine.shutdown()
    val other = readBack(world, scenario)
    assertEquals(SqlValue.Text("written by a scenario"), first(other, "messages", mutation.id)?.values?.get("body"))
    other.shutdown()
}

suspend fun writeOffline(world: World, scenario: JsonObject) {
    val name = "${scenario["id"].asString}.db"
    val engine = open(world, name)
    engine.syncAll()
    val sample = engine.listRows("messages", ListRowsOptions(limit = 1u)).first()
    engine.shutdown()
    val down = Server(world.serverBinary, java.io.File(world.dir, "down.db"), mapOf("x" to "y"))
    down.stop()
    val offline = open(world, name) { it.copy(serverUrl = down.url) }
    val mutation = offline.mutate(newMessage("${scenario["id"].asString}-m", sample.values["conversation_id"]!!))
    assertNotNull(first(offline, "messages", mutation.id), "shown at once, offline")
    val failure = runCatching { offline.syncAll() }.exceptionOrNull()
    assertTrue(failure is SeqsyncException.Network, "fails with Network, not $failure")
    assertEquals(listOf<WriteState>(WriteState.Pending), offline.pendingWrites().map { it.state })
    offline.shutdown()
    val online = open(world, name)
    pushed(online, mutation, "applied")
    online.shutdown()
    val other = readBack(world, scenario)
    assertNotNull(first(other, "messages", mutation.id), "the second client reads it")
    other.shutdown()
}

suspend fun writeRejected(world: World, scenario: JsonObject) {
    val (engine, _, messages) = synced(world, scenario)
    val mutation = engine.mutate(newMessage("${scenario["id"].asString}-m", SqlValue.Text("no-such-conversation")))
    assertEquals(messages + 1u, engine.stats().counts["messages"], "shown at once")
    val status = pushed(engine, mutation, "rejected").single().status as WriteStatus.Rejected
    assertEquals("conversation_missing", status.code)
    assertTrue(status.message.contains("no-such-conversation"), status.message)
    assertNull(first(engine, "messages", mutation.id), "rolled back")
    assertEquals(messages, engine.stats().counts["messages"])
    engine.shutdown()
}

suspend fun writeUpdatePatch(world: World, scenario: JsonObject) {
    val (engine, sample, _) = synced(world, scenario)
    val mutation = engine.mutate(WriteInput("messages", sample.id, WriteOp.UPDATE, mapOf("body" to SqlValue.Text("patched"))))
    assertEquals(sample.seq, mutation.baseSeq)
    assertEquals(sample.values + ("body" to SqlValue.Text("patched")), first(engine, "messages", sample.id)?.values,
        "that field only, at once")
    pushed(engine, mutation, "applied")
    engine.shutdown()
    val other = readBack(world, scenario)
    val read = first(other, "messages", sample.id)!!.values
    assertEquals(listOf(SqlValue.Text("patched"), sample.values["wa_message_id"], sample.values["sent_at"]),
        listOf(read["body"], read["wa_message_id"], read["sent_at"]))
    other.shutdown()
}

suspend fun writeDelete(world: World, scenario: JsonObject) {
    val (engine, sample, messages) = synced(world, scenario)
    val mutation = engine.mutate(WriteInput("messages", sample.id, WriteOp.DELETE))
    assertNull(first(engine, "messages", sample.id), "gone at once")
    assertEquals(messages - 1u, engine.stats().counts["messages"])
    pushed(engine, mutation, "applied")
    engine.shutdown()
    val other = readBack(world, scenario)
    assertNull(first(other, "messages", sample.id))
    other.shutdown()
}
