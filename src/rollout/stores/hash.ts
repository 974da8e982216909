import type { StoreSnapshot } from './port.js'

/**
 * The record's layout in a Redis hash, and the Lua scripts that change it atomically. Shared by
 * the ioredis and Upstash stores (Upstash runs the same scripts through EVAL).
 *
 * Fields: `version` (integer), `overlay` (JSON text), `hold:<route>` (JSON text) and
 * `hold-until:<route>` (epoch ms, so a script can judge expiry without decoding JSON).
 */

export const COMPARE_AND_SET = `
local v = tonumber(redis.call('HGET', KEYS[1], 'version')) or 0
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', v + 1, 'overlay', ARGV[2])
return 1`

export const PLACE_HOLD = `
local u = tonumber(redis.call('HGET', KEYS[1], 'hold-until:' .. ARGV[1]))
if u and u > tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'hold:' .. ARGV[1], ARGV[2], 'hold-until:' .. ARGV[1], ARGV[3])
return 1`

export const RELEASE_HOLD = `
if redis.call('HGET', KEYS[1], 'hold:' .. ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], 'hold:' .. ARGV[1], 'hold-until:' .. ARGV[1])
  return 1
end
return 0`

/** HGETALL's answer (empty or null when the key does not exist) to a snapshot. */
export function snapshotFromHash(hash: Record<string, unknown> | null | undefined): StoreSnapshot {
  const fields = hash ?? {}
  const raw = fields.version
  const version =
    raw === undefined || raw === null ? 0 : /^\d+$/.test(String(raw)) ? Number(raw) : Number.NaN
  const holds: Record<string, string> = {}
  for (const [name, value] of Object.entries(fields)) {
    if (name.startsWith('hold:')) holds[name.slice(5)] = String(value)
  }
  const overlay = fields.overlay
  return {
    version,
    overlay: overlay === undefined || overlay === null ? undefined : String(overlay),
    holds,
  }
}
