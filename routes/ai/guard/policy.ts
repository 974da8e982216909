import type { TextViews } from './normalise.js'

/**
 * Content a creator must never be handed as a suggestion, beyond contact details.
 *
 * The word lists are our own, kept short and specific on purpose. The npm Korean lists
 * (`badwords-ko`, 574 entries) were checked and not used: they hold everyday fandom words
 * (`덬`, `눈나`, `찌질`, `대가리`) and substrings that occur inside ordinary words, so they would
 * refuse ordinary fan replies; the English lists (`bad-words`, `leo-profanity`) are dominated by
 * mild words a reply may quote. Each entry below is a slur, a profanity or a threat in every
 * context it can appear in, with the exceptions spelled out (`시발점` is "starting point").
 */

/** Korean profanity and slurs, matched on the skeleton and on the squeezed view. */
const HATE_KO =
  /(?:씨|시|씨이|쓰|ㅆ|ㅅ)(?:발|빨|바알|벌|불)(?!점|표|전|견|생|효|령|주|사|단|대|매|굽|톱)|ㅅㅂ|ㅆㅂ|병신(?!경)|븅신|ㅂㅅ(?!ㅂ)|개\s*(?:새끼|색기|새기|쉐리|씹)|좆|ㅈ같|지랄(?!탄)|ㅈㄹ|닥쳐|꺼져라|(?:그냥|좀|당장)\s*꺼져|꺼지세요|닥치세요|(?:미친|또라이)\s*(?:놈|년|새끼)|느금|니애미|니엄마\s*없|애미\s*(?:뒤|없)|패드립|한남충|김치녀|틀딱|급식충|맘충|짱깨|쪽바리|똥남아|장애\s*새끼|죽어\s*(?:라|버려)|뒤져\s*(?:라|버려)|자살\s*(?:해|하세요|하라)/u

/** English profanity, slurs and threats. */
const HATE_EN =
  /\bf+u+c+k+|\bshit(?:ty|head)?\b|\bbitch|\bcunt|\basshole|\bretard|\bfaggot|\bfag\b|\bnigg|\bchink\b|\bspic\b|\btranny\b|\bwhore\b|\bslut\b|\bkill\s*your\s*self|\bkys\b|\bgo\s+die\b|\bdie\s+in\s+a\s+fire\b|\bstupid\s+(?:fan|bitch)/u

/** Money moved off the platform: bank transfers, direct payment, payment apps. */
const PAYMENT: readonly RegExp[] = [
  /계좌\s*(?:번호|이체|로|으로|에|:|알려|보내|드릴|드려)|계좌이체|통장\s*(?:번호|으로|로|사본)/u,
  /(?:입금|송금|이체)\s*(?:해|하|부탁|주|바랍|요망|계좌|받|가능|하시면|해\s*주시면)/u,
  /(?:직접|따로|개인적으로|개인\s*계좌로|저한테|나한테|제게)\s*(?:입금|송금|결제|이체|보내|쏴)/u,
  /(?:토스|카카오\s*페이|카카오\s*뱅크|카뱅|페이팔|paypal|venmo|cash\s*app|zelle|wise|alipay|알리페이|위챗\s*페이|wechat\s*pay)\s*(?:로|으로|아이디|id|:)?\s*(?:보내|송금|입금|결제|이체|쏴|후원)/u,
  /\bpay\s+(?:me\s+)?(?:directly|privately|outside|off)|\bsend\s+(?:me\s+)?(?:the\s+)?(?:money|cash|payment|funds)|\bwire\s+(?:me|the\s+money|transfer)|\bbank\s+transfer|\b(?:venmo|paypal|cash\s*app|zelle)\s*(?:me|@|:)/u,
  /(?:현금|선입금|선결제)\s*(?:으로|로)?\s*(?:주|보내|입금|거래)|직거래|플랫폼\s*(?:밖|외부)에서\s*(?:결제|거래|입금)|수수료\s*없이\s*(?:직접|따로)/u,
  /후원\s*(?:계좌|은\s*여기|은\s*이쪽|링크)|(?:코인|비트코인|이더리움|usdt|테더)\s*(?:으로|로)\s*(?:보내|송금|후원|결제)/u,
]

/** The policy a suggestion breaks, or undefined. */
export function policyViolation(views: TextViews): 'hate' | 'payment-solicitation' | undefined {
  // `병1신`, `씨.발`: digits and symbols inside a Korean word.
  const glued = views.skeleton.replace(/(?<=[가-힣ㄱ-ㅎ])[\d\p{P}\p{S}]+(?=[가-힣ㄱ-ㅎ])/gu, '')
  for (const view of [views.skeleton, views.squeezed, glued]) {
    if (HATE_KO.test(view) || HATE_EN.test(view)) return 'hate'
  }
  for (const view of [views.skeleton, views.squeezed]) {
    if (PAYMENT.some((re) => re.test(view))) return 'payment-solicitation'
  }
  return undefined
}
