/** Admin API reads and writes the drills use (bearer `BFF_ADMIN_TOKEN`). */

export interface FlagsView {
  version: string
  percents: Record<string, number>
}

export async function readFlags(url: string, adminToken: string): Promise<FlagsView> {
  const res = await fetch(`${url}/admin/api/flags`, {
    headers: { authorization: `Bearer ${adminToken}` },
    signal: AbortSignal.timeout(5_000),
  })
  if (res.status !== 200) throw new Error(`GET /admin/api/flags: ${res.status}`)
  const body = (await res.json()) as { version: string; routes: { id: string; native: number }[] }
  return {
    version: body.version,
    percents: Object.fromEntries(body.routes.map((r) => [r.id, r.native])),
  }
}

/** The kill switch: the route back to 0 % native at once. */
export async function killRoute(url: string, adminToken: string, route: string): Promise<void> {
  const res = await fetch(`${url}/admin/api/flags/${route}/kill`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'reliability drill' }),
    signal: AbortSignal.timeout(5_000),
  })
  if (res.status !== 200) throw new Error(`kill ${route}: ${res.status} ${await res.text()}`)
}

export function samePercents(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].every((k) => a[k] === b[k])
}
