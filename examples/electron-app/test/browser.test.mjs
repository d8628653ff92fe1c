// The sync screen in Debian's chromium (playwright-core), served by the harness over the real addon, syncing from the
// real server-example: click "Sync All Data", watch the progress bars move, see the stats card equal the server's
// counts, save a screenshot; then chat: send a message, send one while the server is stopped ("sending…" until it is
// restarted, then "sent"), edit and delete, and read the result back with another client; a first sync recent first
// shows the chat list while history fills, and Archive moves a chat to Archived, still readable. Without /usr/bin/chromium the test is skipped, except under CI=true, where it fails.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { cleanup, counts, loadPackage, seed, serverStatus, startServer, tempDir } from '../../../bindings-node/__test__/support.mjs'
import { startHarness } from '../harness/server.mjs'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const here = path.dirname(fileURLToPath(import.meta.url))
const SCREENSHOT = process.env.SEQSYNC_SCREENSHOT ?? path.join(here, '..', 'screenshots', 'sync-screen.png')
const TOKEN = 'secret'
const INTEGRATION = 'wa-ui'
const missing = !existsSync(CHROMIUM)
if (missing && process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium); CI needs the browser test`)

let dir, server, harness, expected

/** Headless chromium with a fresh profile directory (a persistent context is how playwright takes one). */
async function launch() {
  const { chromium } = await import('playwright-core')
  const profile = tempDir('seqsync-chromium-')
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 900, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run'],
  })
  return { browser, profile }
}

before(async () => {
  if (missing) return
  loadPackage()
  dir = tempDir()
  // No XDG user-dirs file: the system has no Downloads folder, so the backend must use its app folder.
  process.env.XDG_CONFIG_HOME = path.join(dir, 'no-user-dirs')
  const db = path.join(dir, 'server.db')
  seed(db, INTEGRATION, { conversations: 200, messages: 40_000, contacts: 150 })
  server = await startServer(db, { [TOKEN]: INTEGRATION })
  expected = counts(await serverStatus(server.url, TOKEN, INTEGRATION))
  harness = await startHarness({
    dbPath: path.join(dir, 'client.db'), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION,
    pageSizes: { conversations: 100, messages: 1500, contacts: 500 }, progressIntervalMs: 50,
    // The bars test needs a plain first sync (recent first reports readiness events, not progress per collection).
    recentFirst: false,
  })
})

after(async () => {
  await harness?.close()
  await server?.stop()
  if (dir) cleanup(dir)
})

test('click "Sync All Data": bars move, the stats card ends at the server counts', { skip: missing && `${CHROMIUM} is missing` }, async () => {
  const { browser, profile } = await launch()
  try {
    const page = await browser.newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(harness.url)
    await page.waitForSelector('[data-count="messages"]')
    assert.equal(await page.textContent('[data-count="messages"]'), '–', 'an empty replica first')

    // Record every width the messages bar takes, from inside the page.
    await page.evaluate(() => {
      window.widths = []
      new MutationObserver(() => {
        const fill = document.querySelector('[data-collection="messages"] .fill')
        if (fill) window.widths.push(parseFloat(fill.style.width))
      }).observe(document.getElementById('progress'), { subtree: true, attributes: true, childList: true })
    })
    await page.click('text=Sync All Data')
    await page.waitForSelector('body[data-synced="true"]', { timeout: 120_000 })

    const widths = await page.evaluate(() => window.widths)
    const distinct = [...new Set(widths)]
    assert.ok(distinct.length >= 3, `the messages bar moved through several widths: ${distinct.join(', ')}`)
    assert.ok(distinct.some((w) => w > 0 && w < 100), 'it showed partial progress')
    for (let i = 1; i < widths.length; i++) assert.ok(widths[i] >= widths[i - 1], 'it only moves forward')
    assert.equal(widths.at(-1), 100)
    for (const collection of Object.keys(expected)) {
      assert.equal(await page.getAttribute(`[data-collection="${collection}"]`, 'data-fraction'), '1.0000', `${collection} bar full`)
    }

    await page.waitForFunction((n) => document.querySelector('[data-count="messages"]').dataset.value === String(n), expected.messages)
    for (const [collection, count] of Object.entries(expected)) {
      assert.equal(await page.getAttribute(`[data-count="${collection}"]`, 'data-value'), String(count), `${collection} in the stats card`)
    }
    assert.ok((await page.$$('#conversations li')).length > 0, 'recent conversations are listed from the replica')
    assert.equal(await page.isHidden('#error'), true)
    assert.deepEqual(pageErrors, [])

    // Live: a write by another process (a seed run on the server's file) reaches the screen without a click.
    seed(path.join(dir, 'server.db'), INTEGRATION, { conversations: 2, messages: 20, contacts: 2 })
    await page.waitForSelector('body[data-live-changes]', { timeout: 20_000 })
    assert.match(await page.textContent('#status'), /^Live: /)

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    assert.ok(existsSync(SCREENSHOT))
    console.log(`# ${distinct.length} distinct widths of the messages bar; screenshot: ${SCREENSHOT}`)
  } finally {
    await browser.close()
    cleanup(profile)
  }
})

test('a failing sync shows the error alert, and Retry works once the server is back', { skip: missing && `${CHROMIUM} is missing` }, async () => {
  const { browser, profile } = await launch()
  const bad = await startHarness({
    dbPath: path.join(dir, 'bad.db'), serverUrl: server.url, token: 'wrong', integrationId: INTEGRATION, maxRetries: 0,
  })
  try {
    const page = await browser.newPage()
    await page.goto(bad.url)
    await page.click('text=Sync All Data')
    await page.waitForSelector('#error:not([hidden])')
    assert.match(await page.textContent('#error-message'), /unauthorized/)
    await page.click('#retry')
    await page.waitForSelector('#error:not([hidden])')
    assert.match(await page.textContent('#error-message'), /unauthorized/, 'retry ran the sync again')
  } finally {
    await browser.close()
    await bad.close()
    cleanup(profile)
  }
})

/** The state of the message whose text is `body` in the open chat: its `data-delivery`, or null when it is not shown. */
function delivery(page, body) {
  return page.evaluate((text) => {
    const li = [...document.querySelectorAll('#messages li')].find((m) => m.querySelector('.body').textContent === text)
    return li ? li.dataset.delivery : null
  }, body)
}

async function waitForDelivery(page, body, state, timeout = 60_000) {
  await page.waitForFunction(([text, wanted]) => {
    const li = [...document.querySelectorAll('#messages li')].find((m) => m.querySelector('.body').textContent === text)
    return wanted === null ? !li : li?.dataset.delivery === wanted
  }, [body, state], { timeout })
}

test('chat: a message sent while the server is stopped shows "sending…", then "sent" once it is back; edit and delete', { skip: missing && `${CHROMIUM} is missing` }, async () => {
  const { browser, profile } = await launch()
  const chat = await startHarness({ dbPath: path.join(dir, 'chat.db'), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION })
  const db = path.join(dir, 'server.db')
  try {
    const page = await browser.newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(chat.url)
    await page.click('text=Sync All Data')
    await page.waitForSelector('body[data-synced="true"]', { timeout: 120_000 })
    const conversation = await page.getAttribute('[data-conversation]', 'data-conversation')
    await page.click(`[data-conversation="${conversation}"]`)
    await page.waitForSelector('#chat:not([hidden])')

    const send = async (text) => { await page.fill('#compose-text', text); await page.click('#send') }
    await send('hello online')
    await waitForDelivery(page, 'hello online', 'sent', 20_000)

    await server.stop()
    await send('hello offline')
    await waitForDelivery(page, 'hello offline', 'sending', 5_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    assert.equal(await delivery(page, 'hello offline'), 'sending', 'still sending while the server is down')
    server = await startServer(db, { [TOKEN]: INTEGRATION }, { listen: new URL(server.url).host })
    await waitForDelivery(page, 'hello offline', 'sent')

    const offline = page.locator('#messages li', { hasText: 'hello offline' })
    await offline.locator('button.edit').click()
    assert.equal(await page.inputValue('#compose-text'), 'hello offline', 'the compose box holds the text to edit')
    await page.fill('#compose-text', 'hello again')
    await page.click('#send')
    await waitForDelivery(page, 'hello again', 'sent', 20_000)
    await page.locator('#messages li', { hasText: 'hello online' }).locator('button.delete').click()
    await waitForDelivery(page, 'hello online', null, 5_000)
    assert.equal(await page.isHidden('#chat-error'), true)
    assert.deepEqual(pageErrors, [])

    // Another client reads what the screen wrote, once follow has pushed the edit and the delete.
    const { SyncEngine } = loadPackage()
    const reader = await SyncEngine.open({ dbPath: path.join(dir, 'reader.db'), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION })
    const written = (bodies) => bodies.includes('hello again') && !bodies.includes('hello online')
    let bodies = []
    for (let i = 0; i < 100 && !written(bodies); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100))
      await reader.syncAll()
      bodies = (await reader.listRows('messages', { where: { conversation_id: conversation }, limit: 10_000 })).map((m) => m.body)
    }
    assert.ok(bodies.includes('hello again'), 'the edited message is on the server')
    assert.ok(!bodies.includes('hello online') && !bodies.includes('hello offline'), 'the deleted and the old text are not')
    await reader.close()
  } finally {
    await browser.close()
    await chat.close()
    if (server.stopped) server = await startServer(db, { [TOKEN]: INTEGRATION }, { listen: new URL(server.url).host })
    cleanup(profile)
  }
})

/** A harness screen on a fresh replica `db` (its first sync goes recent first), open in a page of `browser`. */
async function recentScreen(browser, db) {
  const screen = await startHarness({ dbPath: path.join(dir, db), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION,
    pageSizes: { conversations: 100, messages: 1500, contacts: 500 } })
  const page = await browser.newPage()
  const pageErrors = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.goto(screen.url)
  await page.waitForSelector('[data-count="messages"]')
  return { screen, page, pageErrors }
}

const body = (m) => m.body ?? `(${m.message_type})`

/** Asserts that the open chat shows the newest 30 (or all) of `conversation`'s messages on the server. */
async function assertShowsTheServers(page, conversation) {
  const shown = await page.$$eval('#messages li .body', (b) => b.map((x) => x.textContent))
  const theirs = (await serverMessages()).filter((m) => m.conversation_id === conversation)
  const bodies = new Set(theirs.map(body))
  assert.equal(shown.length, Math.min(30, theirs.length), 'its newest 30 (or all) of the server\'s')
  for (const text of shown) assert.ok(bodies.has(text), `${text} is the server's`)
  return { shown, theirs }
}

/** The server's live messages, over its sync endpoint (its own data, not the replica's). */
async function serverMessages() {
  const messages = []
  for (let since = 0, more = true; more;) {
    const response = await fetch(`${server.url}/sync/messages/${INTEGRATION}?since_seq=${since}&limit=10000`,
      { headers: { authorization: `Bearer ${TOKEN}` } })
    const page = await response.json()
    messages.push(...page.messages)
    since = page.latest_seq
    more = page.has_more
  }
  const latest = new Map(messages.map((m) => [m.id, m]))
  return [...latest.values()].filter((m) => !m.deleted)
}

/** The words of a text as the index sees them: diacritics removed, lower-cased, split on all but letters and digits. */
function words(text) {
  return (text ?? '').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean)
}

test('search: typed text finds the server\'s messages, highlighted and escaped; a click opens the chat at the message', { skip: missing && `${CHROMIUM} is missing` }, async () => {
  const { browser, profile } = await launch()
  const screen = await startHarness({ dbPath: path.join(dir, 'search.db'), serverUrl: server.url, token: TOKEN, integrationId: INTEGRATION })
  try {
    const page = await browser.newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(screen.url)
    await page.click('text=Sync All Data')
    await page.waitForSelector('body[data-synced="true"]', { timeout: 120_000 })
    // A message that tries to inject markup, written through the compose box and pushed to the server.
    const conversation = await page.getAttribute('[data-conversation]', 'data-conversation')
    await page.click(`[data-conversation="${conversation}"]`)
    const hostile = '<script>window.injected = 1</script><img src=x onerror="window.injected = 2"> zebrafish café'
    await page.fill('#compose-text', hostile)
    await page.click('#send')
    await waitForDelivery(page, hostile, 'sent', 20_000)

    const type = async (text) => {
      await page.fill('#search', '')
      await page.type('#search', text)
      await page.waitForFunction((t) => document.body.dataset.searched === t, text)
      return page.$$eval('#results .result', (buttons) => buttons.map((b) => ({
        id: b.dataset.message, html: b.querySelector('.snippet').innerHTML, tags: [...b.querySelectorAll('.snippet *')].map((e) => e.tagName),
      })))
    }
    const messages = await serverMessages()
    const zebra = await type('ZEBRAF')
    const expectedZebra = messages.filter((m) => words(m.body).some((w) => w.startsWith('zebraf'))).map((m) => m.id)
    assert.deepEqual(zebra.map((r) => r.id), expectedZebra, 'the hostile message, found by a prefix of its word')
    assert.match(zebra[0].html, /&lt;script&gt;window\.injected = 1&lt;\/script&gt;&lt;img src=x/)
    assert.match(zebra[0].html, /<mark>zebrafish<\/mark> café/)
    assert.deepEqual(zebra[0].tags, ['MARK'], 'no markup from the message')
    assert.equal(await page.evaluate(() => window.injected), undefined)

    // A word of the generated messages: each result holds it on the server, up to the 20 shown.
    const word = words(messages.find((m) => m.conversation_id !== conversation && words(m.body).length > 0).body)[0]
    const holding = new Set(messages.filter((m) => words(m.body).some((w) => w.startsWith(word))).map((m) => m.id))
    const results = await type(word)
    assert.equal(results.length, Math.min(20, holding.size))
    for (const r of results) {
      assert.ok(holding.has(r.id), `${r.id} holds ${word} on the server`)
      assert.match(r.html, /<mark>/)
    }

    // A click opens the result's conversation with the message marked.
    await page.click(`#results .result[data-message="${results[0].id}"]`)
    await page.waitForSelector(`#messages li.found[data-id="${results[0].id}"]`)
    const owner = messages.find((m) => m.id === results[0].id)
    assert.ok(words(await page.textContent(`#messages li.found[data-id="${results[0].id}"] .body`)).some((w) => w.startsWith(word)))
    assert.equal(owner.body, await page.textContent(`#messages li.found[data-id="${results[0].id}"] .body`))
    assert.deepEqual(pageErrors, [])
  } finally {
    await browser.close()
    await screen.close()
    cleanup(profile)
  }
})

test('media: downloads show progress bars, end verified in the app folder (no Downloads folder here), and open', { skip: missing && `${CHROMIUM} is missing` }, async () => {
  const { browser, profile } = await launch()
  try {
    const page = await browser.newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(harness.url)
    await page.waitForSelector('[data-count="message_media"]')
    if (!(Number(await page.getAttribute('[data-count="message_media"]', 'data-value')) > 0)) {
      await page.click('text=Sync All Data')
      await page.waitForSelector('body[data-synced="true"]', { timeout: 120_000 })
    }
    await page.waitForFunction(() => document.querySelectorAll('#media-list li').length >= 3)
    assert.equal(await page.getAttribute('#media-folder', 'data-folder'), path.join(dir, 'downloads'))

    const ids = await page.$$eval('#media-list li', (lis) => lis.slice(0, 3).map((li) => li.dataset.media))
    for (const id of ids) await page.click(`#media-list li[data-media="${id}"] button.download`)
    for (const id of ids) {
      await page.waitForSelector(`#media-list li[data-media="${id}"][data-state="done"]`, { timeout: 30_000 })
      assert.equal(await page.$eval(`#media-list li[data-media="${id}"] .fill`, (f) => parseFloat(f.style.width)), 100)
      // The file the screen opens is, byte for byte, the server's.
      const served = await page.evaluate(async (id) => {
        const response = await fetch(`/media-file/${encodeURIComponent(id)}`)
        return [...new Uint8Array(await response.arrayBuffer())]
      }, id)
      const original = await fetch(`${server.url}/media/${INTEGRATION}/${encodeURIComponent(id)}`,
        { headers: { authorization: `Bearer ${TOKEN}` } })
      assert.equal(original.status, 200)
      const expectedBytes = Buffer.from(await original.arrayBuffer())
      assert.ok(expectedBytes.length > 0)
      assert.equal(createHash('sha256').update(Buffer.from(served)).digest('hex'),
        createHash('sha256').update(expectedBytes).digest('hex'), `${id}: the bytes of the server's file`)
      assert.equal(Number(await page.getAttribute(`#media-list li[data-media="${id}"]`, 'data-bytes')), expectedBytes.length)
    }
    assert.equal(readdirSync(path.join(dir, 'downloads')).filter((f) => !f.startsWith('.')).length, 3)
    const shot = path.join(path.dirname(SCREENSHOT), 'media-card.png')
    await page.locator('#media').screenshot({ path: shot })
    console.log(`# media card screenshot: ${shot}`)

    // "Open" asks for the finished file (a browser saves it; Electron opens it with the system's application).
    const [response] = await Promise.all([
      browser.waitForEvent('response', (r) => r.url().includes('/media-file/')),
      page.click(`#media-list li[data-media="${ids[0]}"] button.open`),
    ])
    assert.equal(decodeURIComponent(new URL(response.url()).pathname), `/media-file/${ids[0]}`)
    assert.equal(response.status(), 200)
    assert.deepEqual(pageErrors, [])
  } finally {
    await browser.close()
    cleanup(profile)
  }
})

test('recent first: the chat list shows while history fills; Archive moves a chat to Archived, still readable', { skip: missing && `${CHROMIUM} is missing` }, async () => {
  const { browser, profile } = await launch()
  const { screen, page, pageErrors } = await recentScreen(browser, 'recent.db')
  try {
    // Record, from inside the page, the status line and the number of listed chats at each change of either.
    await page.evaluate(() => {
      window.seen = []
      const record = () => window.seen.push({ status: document.getElementById('status').textContent,
        chats: document.querySelectorAll('#conversations li').length })
      new MutationObserver(record).observe(document.getElementById('status'), { childList: true, characterData: true, subtree: true })
      new MutationObserver(record).observe(document.getElementById('conversations'), { childList: true })
    })
    await page.click('text=Sync All Data')
    await page.waitForSelector('body[data-synced="true"]', { timeout: 120_000 })
    const seen = await page.evaluate(() => window.seen)
    const done = seen.findIndex((s) => s.status.startsWith('Done'))
    const listed = seen.findIndex((s) => s.chats > 0 && /history is filling/.test(s.status))
    assert.ok(listed >= 0 && listed < done, `the chat list showed before the sync was done: ${JSON.stringify(seen.slice(0, 5))}`)
    const heads = (s) => Number(/\(([\d,]+) \//.exec(s.status)?.[1].replace(/,/g, '') ?? -1)
    const later = seen.slice(listed + 1, done).filter((s) => heads(s) > heads(seen[listed]))
    assert.ok(later.length > 0, `conversations kept landing after the list showed (${heads(seen[listed])} at the time)`)
    console.log(`# chat list shown at status ${JSON.stringify(seen[listed].status)}, ${later.length} updates before done`)
    const conversations = await page.getAttribute('[data-count="conversations"]', 'data-value')

    // Archive the first chat: it moves to Archived, the others stay, and its messages are the server's.
    const [chosen, other] = await page.$$eval('#conversations [data-conversation]', (b) => b.slice(0, 2).map((x) => x.dataset.conversation))
    await page.locator('#conversations li', { has: page.locator(`[data-conversation="${chosen}"]`) }).locator('button.archive').click()
    await page.waitForSelector(`#archived [data-conversation="${chosen}"]`)
    assert.equal(await page.$(`#conversations [data-conversation="${chosen}"]`), null, 'no longer among the recent chats')
    assert.ok(await page.$(`#conversations [data-conversation="${other}"]`), 'the others stay')
    assert.equal(await page.isVisible('#archived-card'), true)
    await page.click(`#archived [data-conversation="${chosen}"]`)
    await page.waitForSelector('#messages li')
    const { shown } = await assertShowsTheServers(page, chosen)
    assert.ok(shown.length > 0, 'the archived chat has messages')

    // After a reload the chat is still archived, and the replica still holds every conversation.
    await page.reload()
    await page.waitForSelector(`#archived [data-conversation="${chosen}"]`)
    await page.waitForFunction((n) => document.querySelector('[data-count="conversations"]').dataset.value === n, conversations)
    assert.equal(await page.textContent('#status'), '')
    assert.deepEqual(pageErrors, [])
  } finally {
    await browser.close()
    await screen.close()
    cleanup(profile)
  }
})

test('recent first: a chat opened while history fills gets its whole history next and shows the server\'s newest', { skip: missing && `${CHROMIUM} is missing` }, async () => {
  const { browser, profile } = await launch()
  const { screen, page, pageErrors } = await recentScreen(browser, 'prioritized.db')
  try {
    await page.click('text=Sync All Data')
    await page.waitForSelector('body[data-chat-list-ready="true"]', { timeout: 120_000 })
    // The chat with the oldest activity: its history would otherwise come last.
    const chosen = await page.$$eval('#conversations [data-conversation]', (b) => b.at(-1).dataset.conversation)
    await page.click(`#conversations [data-conversation="${chosen}"]`)
    await page.waitForSelector(`body[data-history-landed~="${chosen}"]`, { timeout: 120_000 })
    const landed = await page.getAttribute('body', 'data-history-landed')
    assert.deepEqual(landed.split(' '), [chosen], 'the opened chat, and only it, was pulled ahead of the backfill')
    await page.waitForSelector('body[data-synced="true"]', { timeout: 120_000 })
    await page.waitForSelector('#messages li')
    const { shown, theirs } = await assertShowsTheServers(page, chosen)
    // Sent times may tie at the 30th; the newest one is shown whatever the order among equals.
    const newest = theirs.reduce((a, b) => (b.sent_at > a.sent_at ? b : a))
    assert.ok(shown.includes(body(newest)), `the newest message (${body(newest)}) is shown`)
    assert.deepEqual(pageErrors, [])
  } finally {
    await browser.close()
    await screen.close()
    cleanup(profile)
  }
})
