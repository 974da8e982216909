import { once } from 'node:events'
import { PassThrough, Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import type { ExportColumn, ExportRow, XlsxWriterFactory } from './export-format.js'

/**
 * XLSX with exceljs's streaming writer (Node only): rows are committed as they come and
 * shared strings are off, so memory stays flat however many rows there are. Text cells are
 * stored as text, never as formulas, so no formula can be injected. A cancelled download
 * destroys the output and stops asking for pages.
 */
export const exceljsXlsxWriter: XlsxWriterFactory = (columns, pages) => {
  const out = new PassThrough({ highWaterMark: 256 * 1024 })
  void writeWorkbook(columns, pages, out).catch((error: unknown) => {
    out.destroy(error instanceof Error ? error : new Error(String(error)))
  })
  return Readable.toWeb(out) as unknown as ReadableStream<Uint8Array>
}

async function writeWorkbook(
  columns: readonly ExportColumn[],
  pages: AsyncIterator<ExportRow[]>,
  out: PassThrough,
): Promise<void> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useStyles: false,
    useSharedStrings: false,
  })
  const sheet = workbook.addWorksheet('정산')
  sheet.columns = columns.map((c) => ({ header: c.header, key: c.key }))
  try {
    while (!out.destroyed) {
      const next = await pages.next()
      if (next.done) break
      for (const row of next.value) sheet.addRow(columns.map((c) => row[c.key] ?? null)).commit()
      // Wait for the client before asking the database for more.
      if (out.writableNeedDrain) await Promise.race([once(out, 'drain'), once(out, 'close')])
    }
  } finally {
    if (out.destroyed) await pages.return?.()
  }
  if (out.destroyed) return
  sheet.commit()
  await workbook.commit()
}
