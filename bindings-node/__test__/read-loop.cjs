// The loop of a reader process (consistency-reader.cjs, drizzle-reader.cjs): `read()` every 5 ms until the test sends
// any message, then `report(lastRead, reads)` goes back to the test and the process exits; a read that throws ends
// it with `{ error, reads }`. The test sees `{ ready: true }` first.
function readLoop(read, report) {
  let reads = 0
  let stopping = false
  process.on('message', () => { stopping = true })
  function loop() {
    let last
    try {
      last = read()
      reads++
    } catch (e) {
      process.send({ error: e.stack ?? String(e), reads }, () => process.exit(1))
      return
    }
    if (stopping) {
      process.send(report(last, reads), () => process.exit(0))
      return
    }
    setTimeout(loop, 5)
  }
  process.send({ ready: true })
  loop()
}

module.exports = { readLoop }
