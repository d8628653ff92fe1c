// The results as markdown: initial syncs with their ratios to the SQLite limit and to the seed-style client,
// incremental syncs, and the server's cost per page at the start and the end of the log.

const n = (x, digits = 0) => (x === undefined || x === null ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }))
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '–')

export function markdown(results) {
  const rate = (r) => r.rows / r.seconds
  const kept = results.runs.find((r) => r.limit === 'kept')
  const deferred = results.runs.find((r) => r.limit === 'deferred')
  const seedOf = (store) => results.runs.find((r) => r.store === store && r.client.startsWith('seed-style'))
  const lines = [
    `## Initial sync (${results.size}: ${n(results.sizes.messages)} messages, ${n(results.sizes.conversations)} conversations, ${n(results.sizes.contacts)} contacts; started ${results.started})`,
    '',
    '| client | server store | rows | wall s | rows/s | × SQLite limit | × limit, indexes deferred | × seed-style | max RSS MB | loop delay p50 / p99 / max ms | exact |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|:-:|',
  ]
  for (const r of results.runs) {
    const seed = seedOf(r.store)
    const loop = r.loop ? `${n(r.loop.p50, 1)} / ${n(r.loop.p99, 1)} / ${n(r.loop.max, 1)}` : '–'
    lines.push(`| ${r.client} | ${r.store} | ${n(r.rows)} | ${n(r.seconds, 2)} | ${n(rate(r))} | ${ratio(rate(r), kept && rate(kept))} | ` +
      `${ratio(rate(r), deferred && rate(deferred))} | ${seed && seed !== r ? ratio(rate(r), rate(seed)) : '–'} | ${n(r.maxRssMb, 0)} | ${loop} | ` +
      `${r.exact === undefined ? '–' : r.exact ? 'yes' : '**NO**'} |`)
  }
  lines.push('', '## Incremental sync (100 new messages, one new conversation and contact, their media and participants)', '',
    '| client | server store | new rows | wall s | exact |', '|---|---|--:|--:|:-:|')
  for (const r of results.incremental) {
    lines.push(`| ${r.client} | ${r.store} | ${n(r.newRows)} | ${n(r.seconds, 3)} | ${r.exact ? 'yes' : '**NO**'} |`)
  }
  lines.push('', '## Server cost per page (1,500 messages, fetched and read, median of 15)', '',
    '| server store | at cursor 0, ms | at the last page, ms | end / start |', '|---|--:|--:|--:|')
  for (const p of results.pageCost) {
    const kb = (bytes) => (bytes ? `, ${n(bytes / 1024)} KiB` : '')
    lines.push(`| ${p.store} | ${n(p.startMs, 1)} (${p.startRows} rows${kb(p.startBytes)}) | ${n(p.endMs, 1)} (${p.endRows} rows${kb(p.endBytes)}) | ` +
      `${ratio(p.endMs, p.startMs)} |`)
  }
  if (results.seeding.length) {
    lines.push('', `Seeding (not a benchmark): ${results.seeding.map((s) => `${s.store} ${n(s.seconds, 0)} s`).join(', ')}.`)
  }
  if (results.failures.length) lines.push('', `**Not exact:** ${results.failures.join('; ')}`)
  return `${lines.join('\n')}\n`
}
