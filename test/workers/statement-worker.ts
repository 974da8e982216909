/**
 * A worker that renders a statement the way the Workers build does: the font fetched from
 * `SETTLEMENT_FONT_URL` once per isolate (never bundled), pdf-lib with fontkit 2 subsetting.
 */
import { fontFromUrl } from '../../routes/settlement/font.js'
import { renderStatement } from '../../routes/settlement/statement-pdf.js'
import { sampleStatement } from '../shared/statement-sample.js'

let font: ReturnType<typeof fontFromUrl> | undefined

export default {
  async fetch(_request: Request, env: Record<string, string>): Promise<Response> {
    font ??= fontFromUrl(env.SETTLEMENT_FONT_URL as string)
    const pdf = await renderStatement(sampleStatement(), await font.load())
    return new Response(pdf as Uint8Array<ArrayBuffer>, {
      headers: { 'content-type': 'application/pdf' },
    })
  },
}
