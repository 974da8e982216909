import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { serve } from '@hono/node-server'
import ExcelJS from 'exceljs'
import Papa from 'papaparse'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import { type Harness, postgresHarness } from './db-harness.js'
import {
  asUser,
  buildSettlementApp,
  type Creator,
  OPS,
  post,
  seedCreator,
  seedRefund,
  seedSale,
  settlementDeps,
} from './settlement-helper.js'

const run = promisify(execFile)
const ARTIFACTS = 'test-artifacts'

/** poppler-utils renders and extracts the PDF as a person would see and copy it. */
async function requirePoppler(): Promise<void> {
  try {
    await run('pdftoppm', ['-v'])
    await run('pdftotext', ['-v'])
  } catch {
    throw new Error('pdftoppm/pdftotext missing: apt-get install poppler-utils')
  }
}

async function pdfText(pdf: Uint8Array, name: string): Promise<string> {
  const path = `${ARTIFACTS}/${name}.pdf`
  await writeFile(path, pdf)
  const { stdout } = await run('pdftotext', ['-raw', '-enc', 'UTF-8', path, '-'])
  return stdout
}

/** Page 1 as PNG under test-artifacts/ (what the README's sample is made from). */
async function renderPage1(name: string): Promise<Buffer> {
  await run('pdftoppm', [
    '-png',
    '-r',
    '80',
    '-f',
    '1',
    '-l',
    '1',
    '-singlefile',
    `${ARTIFACTS}/${name}.pdf`,
    `${ARTIFACTS}/${name}`,
  ])
  const { readFile } = await import('node:fs/promises')
  return readFile(`${ARTIFACTS}/${name}.png`)
}

describe('statements and exports opened as a person would', () => {
  let h: Harness
  let app: ReturnType<typeof buildSettlementApp>
  let creator: Creator
  let stranger: Creator
  let draftId: string
  let confirmedId: string

  beforeAll(async () => {
    await requirePoppler()
    await mkdir(ARTIFACTS, { recursive: true })
    h = await postgresHarness()
    app = buildSettlementApp(settlementDeps(h.db))
    creator = await seedCreator(h, { priceKrw: 500_000, legalName: '=HYPERLINK("http://x")' })
    stranger = await seedCreator(h)
    await h.sql(
      `update public.creator_tax_profiles set legal_name = '김하늘' where creator_id = $1`,
      [creator.id],
    )
    const sale = await seedSale(h.db, creator, '2026-01-10T03:00:00Z', 2)
    await seedRefund(h, sale.paymentKey, 50_000, '2026-01-20T03:00:00Z')
    await seedSale(h.db, creator, '2026-02-10T03:00:00Z', 1)
    const confirmed = await post(
      app,
      '/calculate',
      { action: 'confirm', creatorId: creator.id, period: '2026-01' },
      OPS,
    )
    confirmedId = ((await confirmed.json()) as { settlementId: string }).settlementId
    const draft = await post(
      app,
      '/calculate',
      { action: 'calculate', creatorId: creator.id, period: '2026-02' },
      OPS,
    )
    draftId = ((await draft.json()) as { settlementId: string }).settlementId
  })
  afterAll(async () => {
    await h?.close()
  })

  it('a confirmed statement: Korean text extractable, every line and rate, masked account, under 150 KB', async () => {
    const res = await app.request(`/statement?settlementId=${confirmedId}`, {
      headers: asUser(creator.id),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/pdf')
    const pdf = new Uint8Array(await res.arrayBuffer())
    expect(pdf.byteLength).toBeLessThan(150 * 1024)
    const text = await pdfText(pdf, 'settlement-statement-confirmed')
    for (const expected of [
      '정산 명세서',
      '김하늘',
      '플랫폼 주식회사',
      '2026-01-01 ~ 2026-01-31',
      '총 판매액',
      '1,000,000원',
      '-50,000원',
      '-95,000원',
      '-9,500원',
      '845,500원',
      '-25,360원',
      '-2,530원',
      '817,610원',
      '국민은행 ****4321',
      '상태 확정',
      '사업소득',
    ]) {
      expect(text).toContain(expected)
    }
    expect(text).not.toContain('DRAFT')
    // No full account or resident registration number can appear: none is stored. The
    // statement number (`ST<YYYYMM>-<10 hex digits of the id>`, all digits about 1 % of the
    // time) is taken out first so it is not mistaken for one.
    const withoutStatementNo = text.replace(/ST\d{6}-[0-9A-F]{10}/g, '')
    expect(withoutStatementNo).not.toMatch(/\d{6}-?\d{7}/)
    expect(withoutStatementNo).not.toMatch(/\d{8,}/)
    const png = await renderPage1('settlement-statement-confirmed')
    expect(png.subarray(1, 4).toString()).toBe('PNG')
  })

  it('a draft statement is watermarked', async () => {
    const res = await app.request(`/statement?settlementId=${draftId}`, { headers: OPS })
    const text = await pdfText(
      new Uint8Array(await res.arrayBuffer()),
      'settlement-statement-draft',
    )
    expect(text).toMatch(/초안\s+DRAFT/)
    expect(text).toContain('상태 초안')
    const png = await renderPage1('settlement-statement-draft')
    expect(png.byteLength).toBeGreaterThan(10_000)
  })

  it('ETag and conditional GET; a Korean file name per RFC 6266/5987', async () => {
    const first = await app.request(`/statement?settlementId=${confirmedId}`, { headers: OPS })
    const etag = first.headers.get('etag')
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/)
    const disposition = first.headers.get('content-disposition') ?? ''
    expect(disposition).toMatch(
      /^attachment; filename="statement_2026-01_ST202601-[0-9A-F]{10}\.pdf"; filename\*=UTF-8''/,
    )
    const encoded = disposition.split("filename*=UTF-8''")[1] ?? ''
    expect(decodeURIComponent(encoded)).toMatch(/^정산명세서_2026-01_ST202601-[0-9A-F]{10}\.pdf$/)
    const again = await app.request(`/statement?settlementId=${confirmedId}`, {
      headers: { ...OPS, 'if-none-match': `W/"nope", ${etag}` },
    })
    expect(again.status).toBe(304)
    expect(again.headers.get('etag')).toBe(etag)
    expect((await again.arrayBuffer()).byteLength).toBe(0)
    // Paying it changes what the statement shows, so the ETag moves on.
    await post(app, '/calculate', { action: 'mark-paid', settlementId: confirmedId }, OPS)
    const paid = await app.request(`/statement?settlementId=${confirmedId}`, {
      headers: { ...OPS, 'if-none-match': etag ?? '' },
    })
    expect(paid.status).toBe(200)
    expect(paid.headers.get('etag')).not.toBe(etag)
  })

  it("another creator's statement is 403; a bad id is 422 naming settlementId", async () => {
    const res = await app.request(`/statement?settlementId=${confirmedId}`, {
      headers: asUser(stranger.id),
    })
    expect(res.status).toBe(403)
    const bad = await app.request('/statement?settlementId=nope', { headers: OPS })
    expect(bad.status).toBe(422)
    expect(((await bad.json()) as { errors: Array<{ field: string }> }).errors[0]?.field).toBe(
      'settlementId',
    )
  })

  it('CSV: BOM, CRLF, amounts as numbers, formulas neutralised, read back by a CSV parser', async () => {
    await h.sql(
      `update public.creator_tax_profiles set legal_name = '=HYPERLINK("http://x")' where creator_id = $1`,
      [creator.id],
    )
    const res = await app.request('/export?period=2026-01&format=csv', { headers: OPS })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(decodeURIComponent(res.headers.get('content-disposition')?.split("''")[1] ?? '')).toBe(
      '정산내역_2026-01.csv',
    )
    const bytes = new Uint8Array(await res.arrayBuffer())
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes)
    expect(text.split('\r\n').length).toBeGreaterThan(2)
    expect(text.replace(/\r\n/g, '')).not.toContain('\n')
    const parsed = Papa.parse<Record<string, unknown>>(text, {
      header: true,
      dynamicTyping: true,
      skipEmptyLines: true,
    })
    expect(parsed.errors).toEqual([])
    // papaparse, like Excel, takes the BOM as the encoding mark, not as part of the first header.
    expect(parsed.meta.fields?.[0]).toBe('정산번호')
    const row = parsed.data.find((r) => r['크리에이터 ID'] === creator.id)
    expect(row).toBeDefined()
    expect(row?.성명).toBe(`'=HYPERLINK("http://x")`)
    expect(row?.['총 판매액']).toBe(1_000_000)
    expect(row?.['당월 환불']).toBe(50_000)
    expect(row?.실지급액).toBe(817_610)
    expect(row?.상태).toBe('paid')
  })

  it('XLSX: streamed workbook read back by a reader library, amounts as numbers', async () => {
    const res = await app.request('/export', {
      method: 'POST',
      headers: { ...OPS, 'content-type': 'application/json' },
      body: JSON.stringify({ period: '2026-02', format: 'xlsx' }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    )
    const buffer = Buffer.from(await res.arrayBuffer())
    const workbook = new ExcelJS.Workbook()
    await workbook.xlsx.load(buffer as never)
    const sheet = workbook.getWorksheet('정산')
    if (!sheet) throw new Error('no sheet named 정산')
    const header = (sheet.getRow(1).values as unknown[]).slice(1)
    expect(header[0]).toBe('정산번호')
    const values = (sheet.getRow(2).values as unknown[]).slice(1)
    expect(values[1]).toBe(creator.id)
    expect(values[6]).toBe('draft')
    expect(values[7]).toBe(500_000)
    expect(typeof values[16]).toBe('number')
  })

  it('export is ops only; a bad period is 422 naming it', async () => {
    const denied = await app.request('/export?period=2026-01', { headers: asUser(creator.id) })
    expect(denied.status).toBe(403)
    const bad = await app.request('/export?period=2026-1&format=pdf', { headers: OPS })
    expect(bad.status).toBe(422)
    const fields = ((await bad.json()) as { errors: Array<{ field: string }> }).errors.map(
      (e) => e.field,
    )
    expect(fields).toEqual(expect.arrayContaining(['period', 'format']))
    const noXlsx = buildSettlementApp(settlementDeps(h.db, { xlsx: undefined }))
    const res = await noXlsx.request('/export?period=2026-01&format=xlsx', { headers: OPS })
    expect(res.status).toBe(406)
  })

  it('a cancelled download stops asking the database for pages', async () => {
    await h.sql(`insert into public.settlements (creator_id, period_start, period_end, payout_date, statement_no, inputs, lines, rates,
        gross_krw, refunds_krw, adjustments_krw, carried_in_krw, fee_krw, vat_krw, payable_krw, income_tax_krw, local_tax_krw, transfer_krw, carry_out_krw)
      select gen_random_uuid(), '2025-01-01', '2025-02-01', '2025-02-01', 'STBULK-' || g, '{}', '[]', '{}', 1000, 0, 0, 0, 100, 10, 890, 0, 0, 890, 0
      from generate_series(1, 5000) as g`)
    let pages = 0
    const counting: Db = {
      ...h.db,
      kind: h.db.kind,
      ping: () => h.db.ping(),
      close: () => h.db.close(),
      call: (fn, args) => {
        if (fn === 'settlement_export_page') pages++
        return h.db.call(fn, args)
      },
    }
    const logLines: string[] = []
    const logger = createLogger({ level: 'info', write: (line) => logLines.push(line) })
    const server = serve({
      fetch: buildSettlementApp(settlementDeps(counting, { exportPageSize: 50, logger })).fetch,
      port: 0,
      hostname: '127.0.0.1',
    })
    await new Promise((resolve) => server.once('listening', resolve))
    const { port } = server.address() as AddressInfo
    try {
      const abort = new AbortController()
      const res = await fetch(`http://127.0.0.1:${port}/export?period=2025-01&format=csv`, {
        headers: OPS,
        signal: abort.signal,
      })
      const reader = res.body?.getReader()
      await reader?.read()
      abort.abort()
      await new Promise((resolve) => setTimeout(resolve, 300))
      const afterCancel = pages
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(pages).toBe(afterCancel)
      // 5,000 rows are 100 pages of 50: the download stopped long before.
      expect(afterCancel).toBeLessThan(20)
      // The server cancelled the body stream, which closed the page iterator.
      expect(logLines.some((line) => line.includes('settlement export cancelled'))).toBe(true)

      const full = await fetch(`http://127.0.0.1:${port}/export?period=2025-01&format=csv`, {
        headers: OPS,
      })
      const lines = (await full.text()).split('\r\n').filter(Boolean)
      expect(lines).toHaveLength(5001)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
