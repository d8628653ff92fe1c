// The media scenarios of bindings-tests/scenarios.json (`kind: media`): downloads of seeded media files through the
// generated media calls, checked byte for byte against the server's files, and the queue's controls.
package seqsync.tests

import com.google.gson.JsonObject
import java.io.File
import java.security.MessageDigest
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.delay
import uniffi.seqsync.MediaEvent
import uniffi.seqsync.MediaItem
import uniffi.seqsync.MediaListener
import uniffi.seqsync.MediaSettings
import uniffi.seqsync.MediaState
import uniffi.seqsync.SeqsyncException
import uniffi.seqsync.SqlValue
import uniffi.seqsync.SyncEngine

private fun sha256(path: String): String =
    MessageDigest.getInstance("SHA-256").digest(File(path).readBytes()).joinToString("") { "%02x".format(it) }

/** Collects media events (called on the binding's threads). */
private class MediaEvents : MediaListener {
    val events: MutableList<MediaEvent> = java.util.Collections.synchronizedList(mutableListOf())
    override fun onMediaEvent(event: MediaEvent) {
        events += event
    }
    fun snapshot(): List<MediaEvent> = synchronized(events) { events.toList() }
}

private data class MediaRow(val id: String, val sha: String, val size: ULong, val conversation: String)

private suspend fun itemWhen(engine: SyncEngine, id: String, what: String, ok: (MediaItem) -> Boolean): MediaItem {
    val started = System.nanoTime()
    var item: MediaItem? = null
    while (item == null || !ok(item)) {
        check(System.nanoTime() - started < 20_000_000_000L) { "timed out waiting for $id $what: $item" }
        delay(20)
        item = engine.mediaItem(id)
    }
    return item
}

/** `count` media rows of distinct files, first by sha256 (bare columns with min(): the least id's row). */
private suspend fun mediaRows(engine: SyncEngine, count: Long): List<MediaRow> {
    val result = engine.query("SELECT min(id), sha256, size_bytes, conversation_id FROM message_media " +
        "GROUP BY sha256 ORDER BY sha256 LIMIT ?", listOf(SqlValue.Integer(count)))
    return result.rows.map { r ->
        MediaRow((r[0] as SqlValue.Text).value, (r[1] as SqlValue.Text).value,
            (r[2] as SqlValue.Integer).value.toULong(), (r[3] as SqlValue.Text).value)
    }
}

suspend fun mediaDownload(world: World, @Suppress("UNUSED_PARAMETER") scenario: JsonObject) {
    val engine = open(world, "media-download.db")
    engine.syncAll()
    val target = File(world.dir, "downloads-kt")
    val listener = MediaEvents()
    engine.mediaListen(listener)
    assertEquals(target.path, engine.mediaConfigure(MediaSettings(targetDir = target.path, autoDownload = listOf())))
    val rows = mediaRows(engine, 3)
    assertEquals(3, rows.size)
    for (row in rows) assertEquals(row.id, engine.mediaDownload(row.id).mediaId)
    for (row in rows) {
        val item = itemWhen(engine, row.id, "done") { it.state == MediaState.DONE || it.state == MediaState.FAILED }
        assertEquals(MediaState.DONE, item.state, item.lastError)
        assertEquals(row.size, item.bytes)
        assertEquals(row.size, item.total)
        assertEquals(target.path, File(item.path!!).parent)
        assertTrue(File(item.path!!).readBytes().contentEquals(File(world.dir, "server-media/${row.sha}").readBytes()))
        assertEquals(row.sha, sha256(item.path!!))
    }
    fun done(events: List<MediaEvent>, id: String) =
        events.filterIsInstance<MediaEvent.State>().firstOrNull { it.mediaId == id && it.state == MediaState.DONE }
    val started = System.nanoTime()
    while (rows.any { done(listener.snapshot(), it.id) == null }) {
        check(System.nanoTime() - started < 20_000_000_000L) { "the done events" }
        delay(20)
    }
    val events = listener.snapshot()
    for (row in rows) {
        val progress = events.filterIsInstance<MediaEvent.Progress>().filter { it.mediaId == row.id }
        assertTrue(progress.isNotEmpty(), "progress events of ${row.id}")
        assertTrue(progress.all { it.bytes <= it.total && it.total == row.size && it.rate >= 0.0 })
        assertEquals(row.size, progress.last().bytes)
        assertEquals(target.path, File(done(events, row.id)!!.path!!).parent)
    }
    assertEquals(3UL, engine.mediaTotals().done)
    assertEquals(rows.map { it.id }.sorted(), engine.mediaItems().map { it.mediaId }.sorted())
    engine.shutdown()
}

suspend fun mediaControl(world: World, @Suppress("UNUSED_PARAMETER") scenario: JsonObject) {
    val synced = open(world, "media-control.db")
    synced.syncAll()
    val (a, b, c) = mediaRows(synced, 3)
    synced.shutdown()
    val settings = MediaSettings(targetDir = File(world.dir, "control-kt").path, autoDownload = listOf(),
        concurrency = 1u)
    val engine = open(world, "media-control.db") { it.copy(serverUrl = "http://127.0.0.1:9") }
    engine.mediaConfigure(settings)
    val waiting = setOf(MediaState.QUEUED, MediaState.DOWNLOADING)
    assertTrue(engine.mediaDownload(a.id).state in waiting)
    assertTrue(engine.mediaDownload(b.id, 1L).state in waiting)
    assertTrue(engine.mediaDownload(c.id, 5L).state in waiting)
    engine.mediaPause(a.id)
    itemWhen(engine, a.id, "paused") { it.state == MediaState.PAUSED }
    assertEquals(50L, engine.mediaPrioritize(b.id, 50L).priority)
    assertEquals(b.id, engine.mediaItems().first().mediaId)
    assertTrue(engine.mediaPrioritizeConversation(b.conversation, 70L) >= 1UL)
    engine.mediaCancel(c.id)
    itemWhen(engine, c.id, "cancelled") { it.state == MediaState.CANCELLED }
    assertTrue(engine.mediaResume(a.id).state in waiting)
    for (call in listOf<suspend (String) -> Unit>({ engine.mediaDownload(it) }, { engine.mediaPause(it) })) {
        val e = assertFailsWith<SeqsyncException.NotFound> { call("no-such-media") }
        assertTrue("no-such-media" in e.message.orEmpty(), e.message)
    }
    assertTrue(engine.mediaItems().none { it.state == MediaState.FAILED })
    engine.shutdown()

    val live = open(world, "media-control.db")
    live.mediaConfigure(settings)
    for (row in listOf(a, b)) {
        val item = itemWhen(live, row.id, "done") { it.state == MediaState.DONE }
        assertEquals(row.sha, sha256(item.path!!))
    }
    assertEquals(MediaState.CANCELLED, live.mediaItem(c.id)?.state)
    live.shutdown()
}
