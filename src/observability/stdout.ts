/**
 * Log lines for stdout on Node, written in batches: one write per event-loop turn instead of
 * one per line. Writes to a pipe are synchronous on Linux (Node's process I/O docs), so a
 * `console.log` per request costs a system call on the hot path. Lines are flushed at the end
 * of the turn, so ordering and timeliness are kept; `flush()` runs at shutdown.
 */
export function batchedStdout(stream: NodeJS.WritableStream = process.stdout) {
  let pending: string[] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (pending.length === 0) return
    const text = `${pending.join('\n')}\n`
    pending = []
    stream.write(text)
  }
  return {
    write(line: string) {
      pending.push(line)
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    },
    flush,
  }
}
