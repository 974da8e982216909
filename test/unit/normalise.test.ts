import { describe, expect, it } from 'vitest'
import { composeJamo, skeletonOf, viewsOf } from '../../routes/ai/guard/normalise.js'
import {
  classifyDigitRun,
  cleanForDisplay,
  digitRuns,
  foldText,
  nfkc,
} from '../../src/observability/normalise.js'
import { maskString, maskUntrusted } from '../../src/observability/pii.js'

const digitsOf = (text: string) => digitRuns(text).map((r) => r.digits)

describe('foldText', () => {
  it('strips every default-ignorable character, not only the zero-width ones', () => {
    const hidden = [
      'a\u200Bb', // zero-width space
      'a\u{1D173}b', // musical symbol begin beam
      'a\u{1BCA0}b', // shorthand format letter overlap
      'a\u{E0100}b', // variation selector 17
      'a\u{E01EF}b', // variation selector 256
      'a\u{E0041}b', // tag latin capital A
      'a\u3164b', // Hangul filler
      'a\u00ADb', // soft hyphen
    ]
    for (const text of hidden) expect(foldText(text), JSON.stringify(text)).toBe('ab')
  })

  it('decodes percent-encoding and numeric character references', () => {
    expect(foldText('evil%2Ecom')).toBe('evil.com')
    expect(foldText('evil&#46;com &#x40;')).toBe('evil.com @')
    expect(foldText('%2526%2346%3B')).toBe('.') // double encoding
  })

  it('keeps Hangul compatibility jamo (NFKC alone would turn them into conjoining jamo)', () => {
    expect(nfkc('ㅋㅋㅋ ㅠㅠ ㅡ ０１')).toBe('ㅋㅋㅋ ㅠㅠ ㅡ 01')
    expect(foldText('ㅋㅋ')).toBe('ㅋㅋ')
  })
})

describe('cleanForDisplay', () => {
  it('keeps emoji ZWJ sequences and presentation selectors intact', () => {
    for (const emoji of ['👨‍👩‍👧', '❤️‍🔥', '🏳️‍🌈', '🌶️', '1️⃣']) {
      expect(cleanForDisplay(`좋아요 ${emoji}`)).toBe(`좋아요 ${emoji}`)
    }
  })

  it('removes joiners between letters and payloads after an emoji', () => {
    expect(cleanForDisplay('고\u200D마\u200D워요')).toBe('고마워요')
    expect(cleanForDisplay('❤️\u{E0100}\u{E0101}')).toBe('❤️')
    expect(cleanForDisplay('🎉\u{E0069}\u{E0067}')).toBe('🎉')
  })
})

describe('digitRuns', () => {
  it.each([
    ['010ㅡ1234ㅡ5678', '01012345678'],
    ['010🌟1234🌟5678', '01012345678'],
    ['공일공 일이삼사 오육칠팔', '01012345678'],
    ['零一零一二三四五六七八', '01012345678'],
    ['O1O-l234-5678', '01012345678'],
    ['⓪①⓪ ①②③④ ⑤⑥⑦⑧', '01012345678'],
    ['٠١٠١٢٣٤٥٦٧٨', '01012345678'],
  ])('%s → %s', (text, digits) => {
    expect(digitsOf(foldText(text))).toContain(digits)
  })

  it.each([
    ['5월 3일 오후 7시'],
    ['오후 다섯시'],
    ['3만 5천원'],
    ['2025.01.05 19:30 공연'],
    ['1,000,000원'],
    ['이사 가요, 사이좋게, 오이 싫어'],
    ['1일 2일 3일 4일 5일'],
  ])('%s has no long run', (text) => {
    expect(digitsOf(foldText(text)).every((d) => d.length < 9)).toBe(true)
  })

  it('classifies resident, phone and account numbers however they are written', () => {
    const kind = (text: string) => digitRuns(foldText(text)).map(classifyDigitRun).find(Boolean)
    expect(kind('900101 1234568')).toBe('rrn')
    expect(kind('850315 2876541')).toBe('rrn')
    expect(kind('010ㅡ1234ㅡ5678')).toBe('phone')
    expect(kind('110-123-456789')).toBe('account')
    expect(kind('2025.01.05')).toBeUndefined()
  })
})

describe('maskUntrusted', () => {
  it('masks a resident number written with a space, in log lines and untrusted text alike', () => {
    expect(maskString('주민번호 900101 1234568')).toBe('주민번호 [rrn]')
    expect(maskUntrusted('주민번호 900101 1234568')).toBe('주민번호 [rrn]')
    // Two spaces or other separators are for the untrusted-text pass (digit runs).
    expect(maskUntrusted('주민번호 900101  1234568')).toBe('주민번호 [rrn]')
  })

  it('masks numbers spelled out or split by emoji and Hangul dashes', () => {
    expect(maskUntrusted('공일공 일이삼사 오육칠팔로 연락')).toBe('[phone]로 연락')
    expect(maskUntrusted('010💜1234💜5678')).toBe('[phone]')
    expect(maskUntrusted('신한 110ㅡ123ㅡ456789')).toBe('신한 [account]')
  })

  it('leaves dates, times and prices alone', () => {
    const text = '5월 3일 오후 7시, 3만 5천원, 2025.01.05 19:30'
    expect(maskUntrusted(text)).toBe(text)
  })
})

describe('guard views', () => {
  it('folds look-alike letters to ASCII and leaves Korean alone', () => {
    expect(skeletonOf('еvil.соm ᴄᴏᴍ 카카오')).toBe('evil.com com 카카오')
  })

  it('composes jamo written one by one', () => {
    expect(composeJamo('ㅋㅏㅋㅏㅇㅗㅌㅗㄱ')).toBe('카카오톡')
    expect(composeJamo('ㅋㅋㅋ ㅠㅠ')).toBe('ㅋㅋㅋ ㅠㅠ')
  })

  it('writes spelled-out dots and at-signs as such', () => {
    expect(viewsOf('kim 골뱅이 naver 닷 com').dotted).toBe('kim@naver.com')
    expect(viewsOf('evil 닷컴').dotted).toBe('evil.com')
    expect(viewsOf('e v i l . c o m').spacedOut).toBe('evil.com')
    expect(viewsOf('장점이 많아요. So good').dotted).toBe('장점이 많아요. so good')
  })
})
