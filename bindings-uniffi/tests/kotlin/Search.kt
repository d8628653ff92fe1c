// The shared search scenarios (bindings-tests/scenarios.json, `kind: search`) in Kotlin: highlights with the text
// escaped, any typed text a valid plain query, advanced-mode and filter errors by code, newest-first order with
// filters and paging, and edits and deletes arriving by sync changing the results. Main.kt runs them.
package seqsync.tests

import com.google.gson.JsonObject
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import uniffi.seqsync.ListRowsOptions
import uniffi.seqsync.SearchMode
import uniffi.seqsync.SearchOptions
import uniffi.seqsync.SearchOrder
import uniffi.seqsync.SeqsyncException
import uniffi.seqsync.SqlValue
import uniffi.seqsync.SyncEngine
import uniffi.seqsync.WriteInput
import uniffi.seqsync.WriteOp

val searchImplementations: Map<String, suspend (World, JsonObject) -> Unit> = mapOf(
    "search_plain" to ::searchPlain,
    "search_hostile" to ::searchHostile,
    "search_advanced_error" to ::searchAdvancedError,
    "search_filter" to ::searchFilter,
    "search_after_edit" to ::searchAfterEdit,
)

/** A client synced with the server, and two conversations of its replica. */
private suspend fun searchSynced(world: World, scenario: JsonObject): Pair<SyncEngine, List<SqlValue>> {
    val engine = open(world, "${scenario["id"].asString}.db")
    engine.syncAll()
    val rows = engine.listRows("conversations", ListRowsOptions(orderBy = "id", limit = 2u))
    return engine to rows.map { SqlValue.Text(it.id) }
}

/** Inserts a message of [conversation] with [body], locally. */
private suspend fun insert(engine: SyncEngine, id: String, conversation: SqlValue, body: String) =
    newMessage(id, conversation).let { engine.mutate(it.copy(fields = it.fields!! + ("body" to SqlValue.Text(body)))) }

private suspend fun ids(engine: SyncEngine, query: String, options: SearchOptions? = null) =
    engine.search(query, options).map { it.id }

suspend fun searchPlain(world: World, scenario: JsonObject) {
    val (engine, conversations) = searchSynced(world, scenario)
    val id = "${scenario["id"].asString}-m"
    val query = scenario["query"].asString
    insert(engine, id, conversations[0], scenario["body"].asString)
    val hits = engine.search(query, null)
    assertEquals(listOf(Triple("messages", id, scenario["snippet"].asString)),
        hits.map { Triple(it.collection, it.id, it.snippet) })
    assertEquals(null, hits[0].rank, "recent order computes no rank")
    val custom = SearchOptions(highlightOpen = "[", highlightClose = "]", escapeHtml = false)
    assertEquals(listOf(scenario["custom_snippet"].asString), engine.search(query, custom).map { it.snippet })
    val prefix = scenario["prefix"].asString
    assertEquals(listOf(id), ids(engine, prefix, SearchOptions(mode = SearchMode.PREFIX)))
    assertEquals(emptyList(), ids(engine, prefix), "a plain word is a whole word")
    engine.shutdown()
}

suspend fun searchHostile(world: World, scenario: JsonObject) {
    val (engine, _) = searchSynced(world, scenario)
    for (element in scenario["queries"].asJsonArray) {
        val query = element.asString
        for (mode in listOf(SearchMode.PLAIN, SearchMode.PREFIX)) {
            for (order in listOf(SearchOrder.RECENT, SearchOrder.RELEVANCE)) {
                val hits = engine.search(query, SearchOptions(mode = mode, order = order))
                // A query holds a word only if it has a letter or a digit; one without finds nothing.
                if (query.none { it.isLetterOrDigit() }) assertEquals(emptyList(), hits, "\"$query\" has no word")
            }
        }
    }
    engine.shutdown()
}

suspend fun searchAdvancedError(world: World, scenario: JsonObject) {
    val (engine, _) = searchSynced(world, scenario)
    suspend fun fails(query: String, options: SearchOptions, message: String) {
        val failure = runCatching { engine.search(query, options) }.exceptionOrNull()
        assertTrue(failure is SeqsyncException, "fails with a SeqsyncException, not $failure")
        assertEquals(scenario["code"].asString, codeOf(failure), failure.message)
        assertTrue(Regex(message).containsMatchIn(failure.message ?: ""), failure.message)
    }
    val advanced = SearchOptions(mode = SearchMode.ADVANCED)
    fails(scenario["query"].asString, advanced, scenario["message"].asString)
    fails("zanzibar OR NOT", advanced, scenario["message"].asString)
    val column = scenario["filter_column"].asString
    fails("message", SearchOptions(collections = listOf("messages"), filter = mapOf(column to SqlValue.Text("x"))), column)
    engine.search("message OR text", advanced)
    engine.shutdown()
}

suspend fun searchFilter(world: World, scenario: JsonObject) {
    val (engine, conversations) = searchSynced(world, scenario)
    val (first, second) = "${scenario["id"].asString}-1" to "${scenario["id"].asString}-2"
    val bodies = scenario["bodies"].asJsonArray.map { it.asString }
    insert(engine, first, conversations[0], bodies[0])
    insert(engine, second, conversations[1], bodies[1])
    val recent = engine.search("platypus", null)
    assertEquals(listOf(second to null, first to null), recent.map { it.id to it.rank }, "newest first")
    assertEquals(listOf(first), ids(engine, "platypus", SearchOptions(filter = mapOf("conversation_id" to conversations[0]))))
    assertEquals(listOf(first), ids(engine, "platypus", SearchOptions(limit = 1u, offset = 1u)))
    val relevance = engine.search("platypus", SearchOptions(order = SearchOrder.RELEVANCE))
    assertEquals(listOf(first, second), relevance.map { it.id }.sorted())
    val ranks = relevance.map { assertNotNullRank(it.rank) }
    assertTrue(ranks[0] <= ranks[1], "best first")
    engine.shutdown()
}

private fun assertNotNullRank(rank: Double?): Double = checkNotNull(rank) { "relevance computes the rank" }

suspend fun searchAfterEdit(world: World, scenario: JsonObject) {
    val (writer, conversations) = searchSynced(world, scenario)
    val reader = open(world, "${scenario["id"].asString}-reader.db")
    val (before, after) = scenario["bodies"].asJsonArray.map { it.asString }
    val id = "${scenario["id"].asString}-m"
    fun word(body: String) = body.split(" ")[0]
    pushed(writer, insert(writer, id, conversations[0], before), "applied")
    reader.syncAll()
    assertEquals(listOf(id), ids(reader, word(before)))
    val update = WriteInput("messages", id, WriteOp.UPDATE, mapOf("body" to SqlValue.Text(after)))
    pushed(writer, writer.mutate(update), "applied")
    reader.syncAll()
    assertEquals(emptyList(), ids(reader, word(before)), "the edit replaced the old text")
    assertEquals(listOf(id), ids(reader, word(after)))
    pushed(writer, writer.mutate(WriteInput("messages", id, WriteOp.DELETE, null)), "applied")
    reader.syncAll()
    assertEquals(emptyList(), ids(reader, word(after)), "the delete removed it")
    writer.shutdown()
    reader.shutdown()
}
