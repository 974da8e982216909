import type { Sample } from './load.js'
import type { ReportBuilder } from './report.js'

/** The request ids the gateway's access log says it read (lines with message `request`). */
function requestIdsRead(stdout: readonly string[]): Set<string> {
  return new Set(
    stdout.flatMap((line) => {
      try {
        const l = JSON.parse(line) as { message?: string; msg?: string; requestId?: string }
        return (l.message ?? l.msg) === 'request' && l.requestId ? [l.requestId] : []
      } catch {
        return []
      }
    }),
  )
}

/**
 * Losses judged against the access log. A request that failed before the gateway read it is the
 * keep-alive race of a connection the server was closing as idle (its 5 s timeout) while the
 * client reused it; clients retry those, so it is reported, not counted as lost. A request the
 * gateway read and did not answer is a loss, and so is any 5xx.
 */
export function checkNothingReadLost(
  r: ReportBuilder,
  samples: readonly Sample[],
  gatewayStdout: readonly string[],
  labels: { unread: string; lost: string },
): void {
  const received = requestIdsRead(gatewayStdout)
  const unread = samples.filter((s) => s.status === 0 && !received.has(s.requestId))
  const bad = samples.filter(
    (s) => s.status >= 500 || (s.status === 0 && received.has(s.requestId)),
  )
  r.figure(
    labels.unread,
    `${unread.length} (${[...new Set(unread.map((s) => s.error))].join(', ') || 'none'})`,
  )
  r.check(
    labels.lost,
    bad.length === 0,
    bad
      .slice(0, 3)
      .map((s) => `${s.kind} ${s.status} ${s.code ?? s.error ?? ''}`)
      .join('; ') || `${samples.length - unread.length} answered`,
  )
  r.check(
    'requests that never reached the gateway failed only as a closed connection',
    unread.every((s) => /ECONNRESET|socket hang up|EPIPE/.test(s.error ?? '')),
    `${unread.length} such requests`,
  )
}
