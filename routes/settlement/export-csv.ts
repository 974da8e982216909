import Papa from 'papaparse'
import type { ExportColumn, ExportRow } from './export-format.js'

/** Excel reads a CSV as UTF-8 only when it starts with a byte order mark. */
const BOM = '\ufeff'

/**
 * Cells that a spreadsheet would run as a formula get a leading `'` (OWASP ASVS 1.2.10:
 * `= + - @`, tab, carriage return, NUL). Numbers are left alone, which is why amounts are
 * exported as numbers: a refund of `-1000` stays a number.
 */
const FORMULA_START = /^[=+\-@\t\r\0]/

/**
 * A CSV stream from pages of rows: BOM, CRLF line ends, RFC 4180 quoting by papaparse. A page
 * is fetched only when the consumer reads, so a slow client slows the queries and a cancelled
 * one stops them.
 */
export function csvStream(
  columns: readonly ExportColumn[],
  pages: AsyncIterator<ExportRow[]>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const fields = columns.map((c) => c.key)
  let headerSent = false
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!headerSent) {
          headerSent = true
          controller.enqueue(encoder.encode(`${BOM}${unparse([columns.map((c) => c.header)])}\r\n`))
          return
        }
        const next = await pages.next()
        if (next.done) {
          controller.close()
          return
        }
        const rows = next.value.map((row) => fields.map((key) => row[key] ?? ''))
        controller.enqueue(encoder.encode(`${unparse(rows)}\r\n`))
      },
      async cancel() {
        await pages.return?.()
      },
    },
    { highWaterMark: 0 },
  )
}

function unparse(rows: unknown[][]): string {
  return Papa.unparse(rows, { newline: '\r\n', escapeFormulae: FORMULA_START, quotes: false })
}
