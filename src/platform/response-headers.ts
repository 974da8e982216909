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

/**
 * Response-header finalisation, the one rule for native answers, problems and legacy
 * responses alike: each of the gateway's headers (`c.var.responseHeaders`: request id,
 * `x-bff-backend`, CORS, rate limit) replaces the same-named header of the response, and
 * `Vary` is merged. Applied by `src/middleware/response-headers.ts` and the fetch transport.
 */
export function applyGatewayHeaders(
  target: Headers,
  gateway: Readonly<Record<string, string>>,
): void {
  for (const name in gateway) {
    const value = gateway[name] as string
    if (name === 'vary') target.set('vary', mergeVary(target.get('vary'), value) as string)
    else target.set(name, value)
  }
}

/**
 * The same rule for a flat `[name, value, …]` list (the Node transport writes raw header
 * lists): appends the gateway's headers and the merged `Vary`. The caller has left out the
 * upstream headers the gateway replaces (`Object.hasOwn(gateway, name)`) and the upstream `Vary`.
 */
export function appendGatewayHeaders(
  out: string[],
  gateway: Readonly<Record<string, string>>,
  upstreamVary: string | undefined,
): void {
  let gatewayVary: string | undefined
  for (const name in gateway) {
    const value = gateway[name] as string
    if (name === 'vary') gatewayVary = value
    else out.push(name, value)
  }
  const vary = mergeVary(upstreamVary, gatewayVary)
  if (vary) out.push('vary', vary)
}
