import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import type { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fontFromPackage } from '../../routes/settlement/font-node.js'
import { renderStatement } from '../../routes/settlement/statement-pdf.js'
import { startWorkerd } from '../helpers/workerd.js'
import { sampleStatement } from '../shared/statement-sample.js'

const run = promisify(execFile)

describe('a Korean statement rendered inside workerd', () => {
  let fontServer: Server
  let fonts = 0
  let mf: Miniflare

  beforeAll(async () => {
    const ttf = await fontFromPackage().load()
    // The font as static assets or R2 would serve it, counting how often it is fetched.
    fontServer = createServer((_req, res) => {
      fonts++
      res.writeHead(200, { 'content-type': 'font/ttf', 'content-length': ttf.byteLength })
      res.end(ttf)
    })
    await new Promise<void>((resolve) => fontServer.listen(0, '127.0.0.1', resolve))
    const { port } = fontServer.address() as AddressInfo
    mf = await startWorkerd('test/workers/statement-worker.ts', {
      SETTLEMENT_FONT_URL: `http://127.0.0.1:${port}/NotoSansKR-Regular.ttf`,
    })
  })
  afterAll(async () => {
    await mf?.dispose()
    await new Promise((resolve) => fontServer?.close(resolve))
  })

  it('subsets Hangul with fontkit 2, keeps the text extractable, and fetches the font once per isolate', async () => {
    const first = await mf.dispatchFetch('http://worker/')
    expect(first.status).toBe(200)
    const pdf = new Uint8Array(await first.arrayBuffer())
    expect(pdf.byteLength).toBeLessThan(150 * 1024)
    await mkdir('test-artifacts', { recursive: true })
    await writeFile('test-artifacts/settlement-statement-workerd.pdf', pdf)
    const { stdout } = await run('pdftotext', [
      '-raw',
      '-enc',
      'UTF-8',
      'test-artifacts/settlement-statement-workerd.pdf',
      '-',
    ])
    for (const text of ['정산 명세서', '김하늘', '817,610원', '국민은행 ****4321']) {
      expect(stdout).toContain(text)
    }
    const second = await mf.dispatchFetch('http://worker/')
    expect(second.status).toBe(200)
    await second.arrayBuffer()
    expect(fonts).toBe(1)
    // Same input, same bytes in Node and in workerd: the ETag holds across runtimes.
    const node = await renderStatement(sampleStatement(), await fontFromPackage().load())
    expect(Buffer.from(node).equals(Buffer.from(pdf))).toBe(true)
  })
})
