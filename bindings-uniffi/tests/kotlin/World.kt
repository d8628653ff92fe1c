// Test support for the Kotlin scenario suite: the real server-example binary seeded into a temporary directory and
// served on loopback as a child process, and the shared scenario list (bindings-tests/scenarios.json).
package seqsync.tests

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files

/** The scenario file as JSON; its path is the program's first argument. */
fun loadScenarios(path: String): JsonObject = JsonParser.parseString(File(path).readText()).asJsonObject

/** `server-example seed`: generates an integration into a server database. */
fun seed(server: String, db: File, integration: String, sizes: JsonObject) {
    val args = mutableListOf(server, "seed", "--db", db.path, "--integration", integration)
    for (name in listOf("conversations", "messages", "contacts")) args += listOf("--$name", sizes[name].asString)
    val process = ProcessBuilder(args).redirectErrorStream(true).start()
    val output = process.inputStream.bufferedReader().readText()
    check(process.waitFor() == 0) { "server-example seed failed: $output" }
}

/** `server-example serve` on 127.0.0.1:0; [url] once it printed it. tokens: token to integration. */
class Server(binary: String, db: File, tokens: Map<String, String>) {
    private val process: Process
    val url: String

    init {
        val args = mutableListOf(binary, "serve", "--db", db.path, "--listen", "127.0.0.1:0")
        for ((token, integration) in tokens) args += listOf("--token", "$token=$integration")
        process = ProcessBuilder(args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val line = process.inputStream.bufferedReader().readLine() ?: ""
        val match = Regex(" on (http://\\S+)").find(line)
        if (match == null) {
            stop()
            error("server-example serve did not start: $line")
        }
        url = match.groupValues[1]
    }

    /** The server's /sync/status/{id}: {latest_seq, collections: {name: {latest_seq, count}}}. */
    fun status(token: String, integration: String): JsonObject {
        val request = HttpRequest.newBuilder(URI("$url/sync/status/$integration"))
            .header("authorization", "Bearer $token").build()
        val response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() == 200) { "status ${response.statusCode()}: ${response.body()}" }
        return JsonParser.parseString(response.body()).asJsonObject
    }

    fun stop() {
        process.destroy()
        process.waitFor()
    }
}

/** What every scenario needs: the seeded server, its counts, a directory for client databases. */
class World(val serverBinary: String, config: JsonObject) {
    val dir: File = Files.createTempDirectory("seqsync-kt-").toFile()
    val token: String = config["token"].asString
    val adminToken: String = config["admin_token"].asString
    val integration: String = config["integration"].asString
    val server: Server
    val expected: Map<String, ULong>

    init {
        val db = File(dir, "server.db")
        seed(serverBinary, db, integration, config["seed"].asJsonObject)
        seed(serverBinary, db, config["other_integration"].asString, config["other_seed"].asJsonObject)
        server = Server(serverBinary, db, mapOf(token to integration, adminToken to "*"))
        expected = counts(server.status(token, integration))
    }

    fun close() {
        server.stop()
        dir.deleteRecursively()
    }
}

/** The per-collection counts of a /sync/status answer. */
fun counts(status: JsonObject): Map<String, ULong> =
    status["collections"].asJsonObject.entrySet().associate { (name, c) -> name to c.asJsonObject["count"].asLong.toULong() }

/** The per-collection latest seqs of a /sync/status answer. */
fun latestSeqs(status: JsonObject): Map<String, Long> =
    status["collections"].asJsonObject.entrySet().associate { (name, c) -> name to c.asJsonObject["latest_seq"].asLong }
