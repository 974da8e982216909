import { localUserToken } from './local-auth.js'

/**
 * `npm run stand-ins:split`: calls `ai-reply-suggest` on a local gateway (started as
 * `npm run stand-ins` prints) as 100 different users, twice each, and shows who served them:
 * about half native at 50 %, and every user on the same side both times.
 */
const base = process.env.BFF_URL ?? 'http://127.0.0.1:8787'
const users = Number(process.env.USERS ?? 100)

async function call(sub: string): Promise<string> {
  const res = await fetch(`${base}/functions/v1/ai-reply-suggest`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await localUserToken(sub)}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ message: '오늘 공연 최고였어요!' }),
  })
  await res.arrayBuffer()
  return `${res.headers.get('x-bff-backend') ?? 'none'} ${res.status}`
}

const counts = new Map<string, number>()
let moved = 0
for (let i = 1; i <= users; i++) {
  const sub = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
  const first = await call(sub)
  const second = await call(sub)
  if (first !== second) moved++
  counts.set(first, (counts.get(first) ?? 0) + 1)
}

process.stdout.write(`ai-reply-suggest at ${base}, ${users} users:\n`)
for (const [outcome, n] of [...counts].sort()) {
  process.stdout.write(`  ${String(n).padStart(4)}  x-bff-backend: ${outcome}\n`)
}
process.stdout.write(`  users whose second call went elsewhere: ${moved}\n`)
