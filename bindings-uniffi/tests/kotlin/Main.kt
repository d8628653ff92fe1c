// The runner of the Kotlin scenario suite: every scenario of bindings-tests/scenarios.json by its implementation
// (an `error` kind by [error]), then the Kotlin-only checks; prints one line per test and a closing
// "kotlin: N passed, N failed" line, and exits non-zero on any failure or scenario without an implementation.
package seqsync.tests

import com.google.gson.JsonObject
import kotlin.system.exitProcess
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import uniffi.seqsync.ListRowsOptions
import uniffi.seqsync.SeqsyncException
import uniffi.seqsync.SyncEngine

val implementations: Map<String, suspend (World, JsonObject) -> Unit> = mapOf(
    "full_sync" to ::fullSync,
    "progress_in_order" to ::progressInOrder,
    "reads" to ::reads,
    "reset" to ::reset,
    "cancel_resume" to ::cancelResume,
    "close_cancels" to ::closeCancels,
    "write_insert" to ::writeInsert,
    "write_offline" to ::writeOffline,
    "write_rejected" to ::writeRejected,
    "write_update_patch" to ::writeUpdatePatch,
    "write_delete" to ::writeDelete,
    "media_download" to ::mediaDownload,
    "media_control" to ::mediaControl,
    "subscribe_archive" to ::subscribeArchive,
    "recent_first" to ::recentFirst,
) + searchImplementations

/** Any `kind: error` scenario: open with its setup, do `at`, expect `code` and `message`. */
suspend fun error(world: World, scenario: JsonObject) {
    val setup = scenario["setup"]?.asJsonObject ?: JsonObject()
    val name = "${scenario["id"].asString}.db"
    val synced = setup["synced"]?.asBoolean == true
    val closed = setup["closed"]?.asBoolean == true
    var engine: SyncEngine? = null
    val failure = runCatching {
        engine = open(world, name) { options ->
            var o = options
            if (setup["server"]?.asString == "down") {
                val down = Server(world.serverBinary, java.io.File(world.dir, "down.db"), mapOf("x" to "y"))
                down.stop()
                o = o.copy(serverUrl = down.url)
            }
            setup["token"]?.asString?.let { o = o.copy(token = if (it == "admin") world.adminToken else it) }
            setup["integration"]?.asString?.let { o = o.copy(integrationId = it) }
            setup["schema"]?.asString?.let { o = o.copy(schemaJson = it) }
            setup["server_url"]?.asString?.let { o = o.copy(serverUrl = it) }
            o
        }
        val e = engine!!
        if (synced) e.syncAll()
        if (closed) e.shutdown()
        when (val at = scenario["at"].asString) {
            "sync" -> e.syncAll()
            "query" -> e.query(scenario["sql"].asString)
            "list_rows" -> e.listRows(scenario["collection"].asString,
                ListRowsOptions(orderBy = scenario["order_by"]?.asString))
            "mutate" -> e.mutate(writeInput(scenario["write"].asJsonObject))
            "open" -> {}
            else -> error("unknown `at`: $at")
        }
    }.exceptionOrNull()
    engine?.takeIf { !closed }?.let { e ->
        val after = e.stats()
        val pending = e.pendingWrites()
        e.shutdown()
        if (scenario["at"].asString == "mutate") assertEquals(emptyList(), pending, "nothing was written")
        if (scenario["id"].asString == "error_write_read_only") {
            assertEquals(world.expected["contacts"], after.counts["contacts"], "nothing was written")
        }
        if (scenario["id"].asString == "error_forbidden") {
            assertEquals(0uL, after.counts["messages"] ?: 0uL, "no data of another tenant")
        }
        if (scenario["id"].asString == "error_write_query") {
            assertEquals(world.expected["messages"], after.counts["messages"], "nothing was deleted")
        }
    }
    assertTrue(failure is SeqsyncException, "fails with a SeqsyncException, not $failure")
    assertEquals(scenario["code"].asString, codeOf(failure), failure.message)
    assertTrue(Regex(scenario["message"].asString).containsMatchIn(failure.message ?: ""), failure.message)
}

fun main(args: Array<String>) {
    val (scenarioFile, serverBinary) = args
    val config = loadScenarios(scenarioFile)
    val world = World(serverBinary, config["server"].asJsonObject)
    var passed = 0
    var failed = 0
    fun record(name: String, outcome: Result<Unit>) {
        outcome.exceptionOrNull()?.let {
            failed++
            println("FAIL $name: $it")
        } ?: run {
            passed++
            println("ok   $name")
        }
    }
    try {
        for (element in config["scenarios"].asJsonArray) {
            val scenario = element.asJsonObject
            val id = scenario["id"].asString
            val run = if (scenario["kind"].asString == "error") ::error else implementations[id]
            record("scenario $id", runCatching {
                checkNotNull(run) { "scenario $id has no Kotlin implementation (bindings-uniffi/tests/kotlin)" }
                runBlocking { run(world, scenario) }
            })
        }
        val known = config["scenarios"].asJsonArray.map { it.asJsonObject["id"].asString }.toSet()
        record("every implementation has a scenario", runCatching {
            assertEquals(emptySet(), implementations.keys - known, "implementations of no scenario")
        })
        for ((name, check) in kotlinChecks) record(name, runCatching { runBlocking { check(world) } })
    } finally {
        world.close()
    }
    println("kotlin: $passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
