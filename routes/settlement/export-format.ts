/** One exported settlement (`settlement_export_page`); amounts are numbers, never text. */
export type ExportRow = Record<string, string | number | null>

export interface ExportColumn {
  key: string
  header: string
}

/** The export's columns, in order, with the Korean headers accounting expects. */
export const EXPORT_COLUMNS: readonly ExportColumn[] = [
  { key: 'statementNo', header: '정산번호' },
  { key: 'creatorId', header: '크리에이터 ID' },
  { key: 'legalName', header: '성명' },
  { key: 'periodStart', header: '정산 시작일' },
  { key: 'periodEnd', header: '정산 종료일(미포함)' },
  { key: 'payoutDate', header: '지급 예정일' },
  { key: 'status', header: '상태' },
  { key: 'grossKrw', header: '총 판매액' },
  { key: 'refundsKrw', header: '당월 환불' },
  { key: 'adjustmentsKrw', header: '이전 정산분 환불' },
  { key: 'carriedInKrw', header: '전월 이월' },
  { key: 'feeKrw', header: '수수료' },
  { key: 'vatKrw', header: '수수료 부가세' },
  { key: 'payableKrw', header: '지급액' },
  { key: 'incomeTaxKrw', header: '소득세' },
  { key: 'localTaxKrw', header: '지방소득세' },
  { key: 'transferKrw', header: '실지급액' },
  { key: 'carryOutKrw', header: '다음 달 이월' },
  { key: 'feeBp', header: '수수료율(bp)' },
  { key: 'incomeType', header: '소득 구분' },
  { key: 'confirmedAt', header: '확정 일시' },
  { key: 'paidAt', header: '지급 일시' },
]

/**
 * Streams an XLSX workbook from pages of rows. Node only (exceljs's streaming writer); the
 * Workers build has none and answers an XLSX request with 406.
 */
export type XlsxWriterFactory = (
  columns: readonly ExportColumn[],
  pages: AsyncIterator<ExportRow[]>,
) => ReadableStream<Uint8Array>
