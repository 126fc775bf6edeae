/**
 * bKash's answers in the gateway's words: its status codes as txn_details, and which codes mean
 * "already executed, ask the status" or "no answer". From bKash's error code table
 * (developer.bka.sh/docs/error-codes, as transcribed in api-evangelist/bkash
 * errors/bkash-error-codes.yml and in bKash-developer/bKash-for-woocommerce; see the notes in the
 * connector), with bKash's own message kept after ours.
 */

/** Codes after which the payment may well be executed: the status query decides. */
export const ALREADY_EXECUTED = new Set(['2062', '2068', '2116', '2117', '2119']);

/** Codes that mean bKash could not answer now (maintenance, its own failure): ask again. */
export const TRANSIENT = new Set(['503', '9999', '2003', '2020', '2024']);

/** Our words for a decline at execute, by bKash's code. */
const DECLINE_TEXT: Readonly<Record<string, string>> = {
  '2009': 'Declined: invalid bKash wallet',
  '2010': 'Declined: wrong verification code',
  '2011': 'Declined: wrong PIN',
  '2013': 'Declined: too many verification code requests',
  '2014': 'Declined: wrong PIN',
  '2015': 'Declined: too many wrong PINs',
  '2016': 'Declined: wrong verification code',
  '2017': 'Declined: too many wrong verification codes',
  '2018': 'Declined: verification code expired',
  '2019': 'Declined: PIN entry timed out',
  '2023': 'Declined: insufficient balance',
  '2029': 'Declined: duplicate payment (bKash refuses the same payment twice within minutes)',
  '2037': 'Declined: the bKash account cannot make this payment',
  '2038': 'Declined: the bKash account cannot make this payment',
  '2043': 'Declined: wrong PIN',
  '2044': 'Declined: the bKash account cannot make this payment',
  '2045': 'Declined: not a bKash customer account',
  '2046': 'Declined: the bKash account cannot make this payment',
  '2056': 'Declined: the payment was not authorised at bKash',
  '2057': 'Declined: not a bKash account',
  '2058': 'Declined: not a bKash customer account',
  '2060': 'Declined: the payment was not authorised at bKash',
  '2069': 'Declined: the payment was cancelled at bKash',
};

/** txn_details for a decline answered with `code` (and bKash's message). */
export function declineText(code: string, message: string): string {
  const ours = DECLINE_TEXT[code];
  if (ours) return ours;
  const theirs = message.trim().replace(/\s+/g, ' ').slice(0, 120);
  return `Declined: bKash error ${code}${theirs ? ` (${theirs})` : ''}`;
}

/** Words for a refund bKash refused, by its code (refund page of the v2 docs, same codes in v1). */
const REFUND_TEXT: Readonly<Record<string, string>> = {
  '2026': 'The refund is larger than the payment',
  '2034': 'The payment was already reversed',
  '2071': 'bKash does not allow a refund this long after the payment',
  '2072': 'The refund amount is not valid at bKash (more than is left to refund?)',
  '2074': 'bKash cannot reverse this payment',
  '2077': 'bKash does not know the payment’s transaction id',
  '2127': 'The payment is not completed at bKash',
  '2023': 'The merchant’s bKash balance is too low for the refund',
};

export function refundFailureText(code: string, message: string): string {
  const ours = REFUND_TEXT[code];
  return ours ?? `bKash refused the refund: ${code}${message ? ` (${message.trim().slice(0, 120)})` : ''}`;
}

/** Words for a configuration problem (grant token, create payment), for `wmx connector test` and the page. */
export function configProblemText(code: string, message: string): string {
  switch (code) {
    case '2001':
      return 'bKash says the app key is not valid (2001 Invalid App Key)';
    case '9999':
      return `bKash refused the username or password (9999 ${message.trim() || 'Invalid credentials'})`;
    case '2049':
      return 'bKash refused the callback URL (2049): check WMX_PUBLIC_URL';
    case '2006':
      return 'bKash refused the amount (2006 Invalid amount)';
    default:
      return `bKash error ${code}${message ? `: ${message.trim().slice(0, 160)}` : ''}`;
  }
}
