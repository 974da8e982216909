/** One `Vary` from the upstream's and the gateway's (e.g. `Accept-Encoding` + `Origin`). */
export function mergeVary(
  upstream: string | null | undefined,
  gateway: string | null | undefined,
): string | undefined {
  if (!upstream) return gateway ?? undefined
  if (!gateway) return upstream
  const seen = new Set(upstream.split(',').map((v) => v.trim().toLowerCase()))
  const extra = gateway
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v && !seen.has(v.toLowerCase()))
  return extra.length ? `${upstream}, ${extra.join(', ')}` : upstream
}
