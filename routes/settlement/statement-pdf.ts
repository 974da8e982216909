import { degrees, PDFDocument, type PDFFont, type PDFPage, rgb } from 'pdf-lib'
import { subsettingFontkit } from './fontkit-subset.js'
import { percent as bp, type SettlementLine, type SettlementRates } from './money.js'
import { kstDate as kst } from './period.js'

/** What a statement shows; `settlement_get` returns it. */
export interface StatementData {
  settlementId: string
  statementNo: string
  status: 'draft' | 'confirmed' | 'paid'
  periodStart: string
  periodEnd: string
  payoutDate: string
  lines: SettlementLine[]
  rates: SettlementRates
  version: number
  calculatedAt: string
  confirmedAt: string | null
  paidAt: string | null
  creator: {
    legalName: string | null
    incomeType: string | null
    bankName: string | null
    /** Only the last four digits are stored, so no full account number can be printed. */
    accountLast4: string | null
  }
  issuer: { name: string; businessNumber: string; address: string }
}

/** Bumped whenever the layout changes, so ETags of earlier renderings no longer match. */
export const STATEMENT_LAYOUT_VERSION = 1

const STATUS_LABEL = { draft: '초안 (확정 전)', confirmed: '확정', paid: '지급 완료' } as const
const INCOME_TYPE_LABEL: Record<string, string> = {
  business: '사업소득',
  other: '기타소득',
  none: '원천징수 없음',
}

const A4: [number, number] = [595.28, 841.89]
const MARGIN = 56
const INK = rgb(0.12, 0.12, 0.14)
const MUTED = rgb(0.42, 0.42, 0.46)
const RULE = rgb(0.8, 0.8, 0.84)

/** `1234567` → `1,234,567`, `-5000` → `-5,000`. */
export function formatWon(amount: number): string {
  const sign = amount < 0 ? '-' : ''
  return `${sign}${Math.abs(amount)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',')}원`
}

/** The last day of the period (its end is exclusive). */
function lastDay(periodEnd: string): string {
  const date = new Date(`${periodEnd}T00:00:00Z`)
  date.setUTCDate(date.getUTCDate() - 1)
  return date.toISOString().slice(0, 10)
}

/** Issue date: confirmation for a confirmed statement, the calculation for a draft (KST). */
export function issueDate(data: Pick<StatementData, 'confirmedAt' | 'calculatedAt'>): Date {
  return new Date(data.confirmedAt ?? data.calculatedAt)
}

/**
 * The statement PDF: Korean text in Noto Sans KR, embedded as a subset of the glyphs used
 * (about 60 KB), with a ToUnicode map so the text can be copied and read aloud. A draft is
 * watermarked. The output depends only on `data` and the font, so the ETag can be computed
 * without rendering.
 */
export async function renderStatement(
  data: StatementData,
  fontBytes: Uint8Array,
): Promise<Uint8Array> {
  const doc = await PDFDocument.create()
  doc.registerFontkit(subsettingFontkit)
  const font = await doc.embedFont(fontBytes, { subset: true })
  const issued = issueDate(data)
  doc.setTitle(`정산 명세서 ${data.statementNo}`)
  doc.setSubject(`${data.periodStart} ~ ${lastDay(data.periodEnd)}`)
  doc.setAuthor(data.issuer.name)
  doc.setCreator('bff-gateway settlement')
  doc.setProducer('pdf-lib')
  doc.setLanguage('ko-KR')
  doc.setCreationDate(issued)
  doc.setModificationDate(issued)

  const page = doc.addPage(A4)
  const [width, height] = A4
  const text = (value: string, x: number, y: number, size = 10, color = INK) =>
    page.drawText(value, { x, y, size, font, color })
  const right = (value: string, xRight: number, y: number, size = 10, color = INK) =>
    text(value, xRight - font.widthOfTextAtSize(value, size), y, size, color)

  let y = height - MARGIN
  text('정산 명세서', MARGIN, y - 8, 22)
  right(`명세서 번호 ${data.statementNo}`, width - MARGIN, y - 2, 9, MUTED)
  right(`발행일 ${kst(issued)}`, width - MARGIN, y - 16, 9, MUTED)
  right(`상태 ${STATUS_LABEL[data.status]}`, width - MARGIN, y - 30, 9, MUTED)
  y -= 58
  rule(page, y, width)

  y -= 22
  text('지급처', MARGIN, y, 9, MUTED)
  text('수취인', width / 2, y, 9, MUTED)
  y -= 16
  text(data.issuer.name, MARGIN, y, 11)
  text(data.creator.legalName ?? '-', width / 2, y, 11)
  y -= 15
  text(`사업자등록번호 ${data.issuer.businessNumber}`, MARGIN, y, 9, MUTED)
  text(
    `소득 구분 ${INCOME_TYPE_LABEL[data.creator.incomeType ?? ''] ?? '-'}`,
    width / 2,
    y,
    9,
    MUTED,
  )
  y -= 13
  text(data.issuer.address, MARGIN, y, 9, MUTED)
  text(`입금 계좌 ${maskedAccount(data.creator)}`, width / 2, y, 9, MUTED)

  y -= 28
  text(`정산 기간 ${data.periodStart} ~ ${lastDay(data.periodEnd)} (한국 표준시)`, MARGIN, y, 10)
  right(`지급 예정일 ${data.payoutDate}`, width - MARGIN, y, 10)
  y -= 14
  rule(page, y, width)

  y -= 20
  text('항목', MARGIN, y, 9, MUTED)
  text('적용률', MARGIN + 250, y, 9, MUTED)
  right('금액', width - MARGIN, y, 9, MUTED)
  y -= 8
  for (const line of data.lines) {
    y -= 20
    const strong = line.code === 'transfer' || line.code === 'payable'
    text(line.label, MARGIN, y, strong ? 11.5 : 10.5)
    if (line.rate) text(line.rate, MARGIN + 250, y, 10, MUTED)
    right(formatWon(line.amountKrw), width - MARGIN, y, strong ? 11.5 : 10.5)
    if (line.code === 'base' || line.code === 'payable' || line.code === 'transfer') {
      rule(page, y - 7, width)
    }
  }

  y -= 40
  text('적용 요율', MARGIN, y, 9, MUTED)
  const w = data.rates.withholding
  const notes = [
    `플랫폼 수수료 ${bp(data.rates.fee.bp)} (${data.rates.fee.effectiveFrom}부터${data.rates.fee.creatorOverride ? ', 개별 약정' : ''}), 부가가치세 ${bp(data.rates.vat.bp)} (${data.rates.vat.effectiveFrom}부터)`,
    `원천징수 ${INCOME_TYPE_LABEL[w.incomeType] ?? w.incomeType}: 소득세 ${bp(w.incomeTaxBp)}, 지방소득세 소득세의 ${bp(w.localTaxBp)}${w.deemedExpenseBp ? `, 필요경비 ${bp(w.deemedExpenseBp)}` : ''} (${w.effectiveFrom}부터)`,
    '세액은 각각 10원 미만을 버립니다. 수수료는 부가가치세를 포함해 원 단위로 반올림합니다.',
  ]
  for (const note of notes) {
    y -= 15
    text(note, MARGIN, y, 8.5, MUTED)
  }

  text(`${data.issuer.name} · ${data.statementNo} · 1/1`, MARGIN, MARGIN - 20, 8, MUTED)
  if (data.status === 'draft') watermark(page, font, width, height)
  return doc.save()
}

function rule(page: PDFPage, y: number, width: number): void {
  page.drawLine({
    start: { x: MARGIN, y },
    end: { x: width - MARGIN, y },
    thickness: 0.6,
    color: RULE,
  })
}

function watermark(page: PDFPage, font: PDFFont, width: number, height: number): void {
  const label = '초안 DRAFT'
  const size = 72
  const textWidth = font.widthOfTextAtSize(label, size)
  page.drawText(label, {
    x: width / 2 - (textWidth / 2) * Math.cos(Math.PI / 6),
    y: height / 2 - (textWidth / 2) * Math.sin(Math.PI / 6),
    size,
    font,
    color: rgb(0.85, 0.2, 0.2),
    opacity: 0.18,
    rotate: degrees(30),
  })
}

function maskedAccount(creator: StatementData['creator']): string {
  if (!creator.accountLast4) return '-'
  return `${creator.bankName ?? ''} ****${creator.accountLast4}`.trim()
}
