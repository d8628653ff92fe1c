'use strict'
// The sync screen: the stats card, "Sync All Data", a progress bar per collection (or, on a first sync, the chat list
// as soon as it is in while history fills), an error alert with retry, recent and archived conversations, and a
// chat: open a conversation, send (shown "sending…" until the server has it, offline too), edit and delete messages;
// a search box whose results open the conversation at the message; a media card: download a file with a progress
// bar, pause, resume or cancel it, and open it once it is verified and in the download folder.
// It talks to the main process only through window.seqsync (preload.js).
const api = window.seqsync
const $ = (id) => document.getElementById(id)
const bars = new Map()

function format(n) {
  return Number(n).toLocaleString('en-US')
}

async function refreshStats() {
  const stats = await api.stats()
  for (const dd of document.querySelectorAll('[data-count]')) {
    const count = stats.counts[dd.dataset.count]
    dd.textContent = count === undefined ? '–' : format(count)
    dd.dataset.value = count ?? ''
  }
  $('size').textContent = `${(stats.fileSizeBytes / 1024 / 1024).toFixed(1)} MB`
  $('path').textContent = stats.path ?? ''
  await refreshChatList()
  await refreshMessages()
}

/**
 * The recent conversations, and below them the archived ones (frozen, still readable): each opens on a click and
 * has an Archive (or Unarchive) button.
 */
async function refreshChatList() {
  const archived = await api.archived().catch(() => [])
  const hidden = new Set(archived.map((c) => c.id))
  const recent = (await api.conversations(10 + hidden.size).catch(() => [])).filter((c) => !hidden.has(c.id)).slice(0, 10)
  $('conversations').replaceChildren(...recent.map((c) => chatRow(c, 'Archive')))
  $('archived').replaceChildren(...archived.map((c) => chatRow(c, 'Unarchive')))
  $('archived-card').hidden = archived.length === 0
}

function chatRow(c, action) {
  const li = document.createElement('li')
  const open = element('button', `${c.name ?? c.jid} (${c.unread_count ?? 0} unread)`)
  open.dataset.conversation = c.id
  open.addEventListener('click', () => openChat(c))
  const toggle = element('button', action, action.toLowerCase())
  toggle.addEventListener('click', () => archive(c.id, action === 'Archive'))
  li.append(open, toggle)
  return li
}

async function archive(conversationId, on) {
  $('chat-error').hidden = true
  try {
    await (on ? api.archive(conversationId) : api.unarchive(conversationId))
  } catch (error) {
    $('status').textContent = `Not ${on ? 'archived' : 'unarchived'} (${error.code ?? 'error'}): ${error.message}`
  }
  await refreshChatList()
}

function element(tag, text, className) {
  const node = document.createElement(tag)
  node.textContent = text
  if (className) node.className = className
  return node
}

// The open conversation, and the message being edited (null: the compose box sends a new one).
let chat = null
let editing = null

// The message a search result opened the chat at (shown marked and scrolled to), or null.
let found = null

function openChat(conversation, atMessage = null) {
  chat = conversation
  found = atMessage
  $('chat').hidden = false
  $('chat-title').textContent = conversation.name ?? conversation.jid ?? conversation.id
  stopEditing()
  // While the history fills, the opened conversation's whole history comes next.
  api.prioritize(conversation.id).catch(() => {})
  return refreshMessages()
}

async function refreshMessages() {
  if (!chat) return
  const messages = await api.messages(chat.id, found)
  $('messages').replaceChildren(...messages.map((m) => {
    const li = element('li', '', m.from_me ? 'mine' : '')
    li.dataset.id = m.id
    li.dataset.delivery = m.delivery ?? ''
    li.append(element('span', m.body ?? `(${m.message_type})`, 'body'))
    if (m.delivery) li.append(element('span', m.delivery === 'sending' ? 'sending…' : 'sent', 'delivery'))
    if (m.from_me) {
      const edit = element('button', 'Edit', 'edit')
      edit.addEventListener('click', () => startEditing(m))
      const remove = element('button', 'Delete', 'delete')
      remove.addEventListener('click', () => write(() => api.remove(m.id)))
      li.append(edit, remove)
    }
    return li
  }))
  const target = found && [...$('messages').children].find((li) => li.dataset.id === found)
  if (target) {
    target.classList.add('found')
    target.scrollIntoView({ block: 'center' })
  }
}

// Search as the user types; only the newest query's results are shown.
let searches = 0
async function search() {
  const text = $('search').value
  const mine = ++searches
  const hits = text.trim() ? await api.search(text).catch(() => []) : []
  if (mine !== searches) return
  $('results').replaceChildren(...hits.map((hit) => {
    const open = element('button', '', 'result')
    open.dataset.message = hit.id
    const snippet = element('span', '', 'snippet')
    // The engine escaped the message's text for HTML: the only markup in a snippet is its <mark>s.
    snippet.innerHTML = hit.snippet
    open.append(element('span', hit.conversationName ?? hit.conversationId, 'where'), snippet)
    open.addEventListener('click', () => openChat({ id: hit.conversationId, name: hit.conversationName }, hit.id))
    const li = document.createElement('li')
    li.append(open)
    return li
  }))
  document.body.dataset.searched = text
}

function startEditing(message) {
  editing = message
  $('compose-text').value = message.body ?? ''
  $('send').textContent = 'Save'
  $('compose-cancel').hidden = false
}

function stopEditing() {
  editing = null
  $('compose-text').value = ''
  $('send').textContent = 'Send'
  $('compose-cancel').hidden = true
}

/** Runs a local write; it shows at once (the engine applies it to the replica before it is pushed). */
async function write(action) {
  $('chat-error').hidden = true
  try {
    await action()
  } catch (error) {
    $('chat-error').textContent = `Not written (${error.code ?? 'error'}): ${error.message}`
    $('chat-error').hidden = false
  }
  await refreshMessages()
}

function bar(collection) {
  let entry = bars.get(collection)
  if (!entry) {
    const root = document.createElement('div')
    root.className = 'bar'
    root.dataset.collection = collection
    root.innerHTML = '<div class="label"><span class="name"></span><span class="count"></span></div>' +
      '<div class="track"><div class="fill"></div></div>'
    root.querySelector('.name').textContent = collection
    $('progress').append(root)
    entry = { root, fill: root.querySelector('.fill'), count: root.querySelector('.count') }
    bars.set(collection, entry)
  }
  return entry
}

function onProgress(p) {
  if (!p.collection) return
  const entry = bar(p.collection)
  const done = p.stage === 'collection_done'
  const fraction = done ? 1 : p.total ? Math.min(1, p.applied / p.total) : p.targetSeq > 0 ? Math.min(1, p.cursor / p.targetSeq) : 0
  entry.fill.style.width = `${(fraction * 100).toFixed(1)}%`
  entry.root.dataset.fraction = fraction.toFixed(4)
  entry.count.textContent = p.total ? `${format(p.applied)} / ${format(p.total)}` : format(p.applied)
  $('status').textContent = done ? `${p.collection} up to date` : `Syncing ${p.collection}…`
}

function setRunning(running) {
  $('sync').disabled = running
  $('cancel').hidden = !running
}

async function sync() {
  $('error').hidden = true
  for (const { root } of bars.values()) root.remove()
  bars.clear()
  setRunning(true)
  $('status').textContent = 'Starting…'
  await api.startSync()
}

api.onProgress(onProgress)

// A first sync goes recent first: the chat list shows as soon as it is in, then each conversation's newest messages
// and history land while the status line says so.
let filling = null
api.onRecent(async (event) => {
  if (event.kind === 'chat_list_ready') filling = { total: event.values, heads: 0 }
  // Which opened chats have their whole history in (for tests and styling): space-separated ids.
  if (event.kind === 'history_landed') {
    document.body.dataset.historyLanded = `${document.body.dataset.historyLanded ?? ''} ${event.value}`.trim()
  }
  if (!filling) return
  if (event.kind === 'head_landed') filling.heads += 1
  $('status').textContent = `Chat list ready; history is filling (${format(filling.heads)} / ${format(filling.total)} conversations)`
  if (event.kind === 'chat_list_ready') {
    await refreshStats()
    document.body.dataset.chatListReady = 'true'
  } else if (chat && event.value === chat.id) {
    await refreshMessages()
  }
})
api.onDone(async (outcome) => {
  setRunning(false)
  filling = null
  if (outcome.ok) {
    $('status').textContent = `Done: ${format(outcome.rows)} rows in ${(outcome.elapsedMs / 1000).toFixed(1)} s`
    document.body.dataset.synced = 'true'
  } else if (outcome.code === 'cancelled') {
    $('status').textContent = 'Cancelled: the next sync resumes where this one stopped'
  } else {
    $('status').textContent = ''
    $('error-message').textContent = `Sync failed (${outcome.code}): ${outcome.message}`
    $('error').hidden = false
  }
  await refreshStats()
})

// Live: after the first sync the backend follows the server; each committed change refreshes the screen.
let liveChanges = 0
api.onChange(async (change) => {
  liveChanges += 1
  document.body.dataset.liveChanges = String(liveChanges)
  const what = change.collection ?? 'everything'
  $('status').textContent = `Live: ${format(change.upserted.length + change.deleted.length)} ${what} changed`
  await refreshStats()
})

// A pushed write: "sent" (re-read the list), or refused by the server and rolled back (say so).
api.onWrite(async (outcome) => {
  if (outcome.status === 'rejected') {
    $('chat-error').textContent = `Not sent (${outcome.code}): ${outcome.message}`
    $('chat-error').hidden = false
  }
  await refreshMessages()
})

$('compose').addEventListener('submit', (event) => {
  event.preventDefault()
  const body = $('compose-text').value
  const target = editing
  stopEditing()
  write(() => (target ? api.edit(target.id, body) : api.send(chat.id, body)))
})
// Media: one row per media file of the replica, its bar fed by the queue's progress events.
const mediaRows = new Map()

function formatBytes(n) {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} KB`
}

function mediaRow(media) {
  const li = document.createElement('li')
  li.dataset.media = media.mediaId
  li.innerHTML = '<div class="label"><span class="name"></span><span class="amount"></span></div>' +
    '<div class="track"><div class="fill"></div></div><div class="buttons"></div><p class="alert" hidden></p>'
  li.querySelector('.name').textContent = media.fileName ?? `${media.mimeType ?? 'media'} ${media.mediaId.slice(0, 8)}`
  const row = { li, media, fill: li.querySelector('.fill'), amount: li.querySelector('.amount'), rate: null, events: 0 }
  mediaRows.set(media.mediaId, row)
  showMedia(row)
  return li
}

/** Redraws a row from its state: the bar, the amount, and the buttons the state allows. */
function showMedia(row) {
  const { media } = row
  const fraction = media.size ? Math.min(1, media.bytes / media.size) : 0
  row.fill.style.width = `${(fraction * 100).toFixed(1)}%`
  row.li.dataset.state = media.state
  row.li.dataset.bytes = String(media.bytes)
  const rate = media.state === 'downloading' && row.rate ? ` · ${formatBytes(row.rate)}/s` : ''
  row.amount.textContent = `${formatBytes(media.bytes)} / ${formatBytes(media.size ?? 0)} · ${media.state}${rate}`
  const actions = {
    none: ['Download'], cancelled: ['Download'], failed: ['Retry'], queued: ['Pause', 'Cancel'],
    downloading: ['Pause', 'Cancel'], paused: ['Resume', 'Cancel'], done: ['Open'],
  }[media.state] ?? []
  row.li.querySelector('.buttons').replaceChildren(...actions.map((name) => {
    const button = element('button', name, name.toLowerCase())
    button.addEventListener('click', () => mediaAction(row, name))
    return button
  }))
  const alert = row.li.querySelector('.alert')
  alert.hidden = !media.error
  alert.textContent = media.error ?? ''
}

async function mediaAction(row, name) {
  const id = row.media.mediaId
  const call = { Download: api.mediaDownload, Retry: api.mediaResume, Pause: api.mediaPause, Resume: api.mediaResume,
    Cancel: api.mediaCancel, Open: api.mediaOpen }[name]
  const seen = row.events
  try {
    const item = await call(id)
    // A small file can finish before the call's answer arrives: an event since the click is newer than the answer.
    if (item?.state && row.events === seen) {
      Object.assign(row.media, { state: item.state, bytes: item.bytes, error: item.lastError ?? null })
    }
  } catch (error) {
    row.media.error = `${error.code ?? 'error'}: ${error.message}`
  }
  showMedia(row)
}

async function refreshMedia() {
  const { folder, error } = await api.mediaFolder()
  $('media-folder').textContent = folder ? `Downloads go to ${folder}` : `Media unavailable (${error?.code}): ${error?.message}`
  $('media-folder').dataset.folder = folder ?? ''
  const media = await api.mediaList().catch(() => [])
  mediaRows.clear()
  $('media-list').replaceChildren(...media.map(mediaRow))
}

api.onMedia((event) => {
  const row = mediaRows.get(event.mediaId)
  if (!row) return
  row.events += 1
  if (event.kind === 'progress') {
    Object.assign(row.media, { bytes: event.bytes, size: event.total })
    row.rate = event.rate
  } else if (event.kind === 'state') {
    row.media.state = event.state
    row.media.error = event.state === 'failed' || event.errorCode ? event.message ?? null : null
    if (event.state === 'done') row.media.bytes = row.media.size
  }
  showMedia(row)
})
api.onDone(() => refreshMedia())

$('compose-cancel').addEventListener('click', stopEditing)
$('search').addEventListener('input', search)
$('sync').addEventListener('click', sync)
$('retry').addEventListener('click', sync)
$('cancel').addEventListener('click', () => api.cancelSync())
refreshStats()
refreshMedia()
