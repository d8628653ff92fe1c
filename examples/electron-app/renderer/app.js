'use strict'
// The sync screen: the stats card, "Sync All Data", a progress bar per collection, an error alert with retry. It
// talks to the main process only through window.seqsync (preload.js).
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
  const conversations = await api.conversations(10).catch(() => [])
  $('conversations').replaceChildren(...conversations.map((c) => {
    const li = document.createElement('li')
    li.textContent = `${c.name ?? c.jid} (${c.unread_count ?? 0} unread)`
    return li
  }))
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
api.onDone(async (outcome) => {
  setRunning(false)
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

$('sync').addEventListener('click', sync)
$('retry').addEventListener('click', sync)
$('cancel').addEventListener('click', () => api.cancelSync())
refreshStats()
