import { createServer } from 'node:http'
import { startGateway } from '/work/main/bench/lib/servers.ts'
const srv = createServer((req, res) => { console.log('upstream got', req.method, req.url, req.rawHeaders); res.end('{}') })
srv.on('clientError', (e, sock) => { console.log('clientError', e.message, (e as any).rawPacket?.toString()); sock.destroy() })
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
const port = (srv.address() as any).port
const gw = await startGateway({ port } as any)
const r = await fetch(`${gw.functions}/bench-echo`); console.log(r.status, await r.text())
process.exit(0)
