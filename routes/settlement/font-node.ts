import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { type FontSource, onceFont } from './font.js'

/** Noto Sans KR Regular (Google Fonts build, OFL) as its npm package ships it. */
export const NOTO_SANS_KR_TTF =
  '@expo-google-fonts/noto-sans-kr/400Regular/NotoSansKR_400Regular.ttf'

/** Node: the font from the package on disk, read on first use. */
export function fontFromPackage(specifier = NOTO_SANS_KR_TTF): FontSource {
  const path = createRequire(import.meta.url).resolve(specifier)
  return onceFont(path, async () => new Uint8Array(await readFile(path)))
}
