import type { Context } from 'hono'
import { readHeader } from '../platform/request-headers.js'
import { socketAddress } from '../platform/runtime.js'

export interface ClientIpOptions {
  /**
   * The header the platform's proxy sets: `x-forwarded-for` (Cloud Run), `cf-connecting-ip`
   * (Cloudflare), `x-real-ip`, `fly-client-ip`… Unset: the socket address on Node, and
   * `cf-connecting-ip` on Workers (Cloudflare overwrites it, a client cannot forge it).
   */
  trustedIpHeader?: string
  /**
   * For `x-forwarded-for`: how many entries from the right were added by proxies we trust.
   * Each proxy appends the address it received the connection from, and anything to the left of
   * those entries came from the client and can be forged. Cloud Run's front end appends one
   * entry (the client): 1. Behind an external Application Load Balancer it appends
   * `<client>, <load balancer>`: 2.
   */
  forwardedHops?: number
}

/**
 * The caller's IP address for rate limiting, or undefined when nothing trustworthy is known.
 * IPv6 addresses are reduced to their /64, the block one subscriber usually holds, so rotating
 * addresses inside it does not reset the limit.
 */
export function clientIp(c: Context, options: ClientIpOptions = {}): string | undefined {
  const ip = clientAddress(c, options)
  return ip ? normalizeIp(ip) : undefined
}

/** The caller's address as received (for `X-Forwarded-For` to legacy): no /64 grouping. */
export function clientAddress(
  c: Context,
  { trustedIpHeader, forwardedHops = 1 }: ClientIpOptions = {},
): string | undefined {
  let ip: string | undefined
  if (trustedIpHeader === 'x-forwarded-for') {
    ip = forwardedEntry(readHeader(c, 'x-forwarded-for') ?? '', Math.max(1, forwardedHops))
  } else if (trustedIpHeader) {
    ip = readHeader(c, trustedIpHeader)?.trim()
  } else {
    ip = socketAddress(c)
  }
  return ip?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1') || undefined
}

/** The `hops`-th entry from the right of an `X-Forwarded-For` list, trimmed ('' past its start). */
function forwardedEntry(value: string, hops: number): string {
  let end = value.length
  for (let hop = 1; ; hop++) {
    const comma = value.lastIndexOf(',', end - 1)
    if (hop === hops) return value.slice(comma + 1, end).trim()
    if (comma === -1) return ''
    end = comma
  }
}

function normalizeIp(raw: string): string | undefined {
  const ip = raw
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '')
    .toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip)
  if (mapped) return mapped[1]
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return ip
  if (!/^[0-9a-f:]+$/.test(ip) || !ip.includes(':')) return undefined
  const [head = '', tail = ''] = ip.split('::')
  const left = head ? head.split(':') : []
  const right = ip.includes('::') && tail ? tail.split(':') : []
  const groups = ip.includes('::')
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left
  if (groups.length !== 8) return undefined
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}
