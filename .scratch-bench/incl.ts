import { readdirSync, readFileSync } from 'node:fs'
const file = readdirSync('/tmp/prof')[0]!
const prof = JSON.parse(readFileSync(`/tmp/prof/${file}`, 'utf8'))
const byId = new Map<number, any>(prof.nodes.map((n: any) => [n.id, n]))
const counts = new Map<number, number>()
for (const s of prof.samples) counts.set(s, (counts.get(s) ?? 0) + 1)
const parent = new Map<number, number>()
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const incl = new Map<string, number>()
let total = 0
const name = (n: any) => { const cf = n.callFrame; return `${cf.functionName || '(anon)'} ${cf.url.replace(/.*node_modules\//, '').replace('file:///work/main/', '')}:${cf.lineNumber}` }
for (const [id, cnt] of counts) {
  total += cnt
  const seen = new Set<string>()
  let cur: number | undefined = id
  while (cur !== undefined) { const k = name(byId.get(cur)); if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + cnt) } cur = parent.get(cur) }
}
const filter = process.argv[2] ? new RegExp(process.argv[2]) : /./
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).filter(([k]) => filter.test(k)).slice(0, 60)) console.log((100 * v / total).toFixed(1).padStart(5), k)
