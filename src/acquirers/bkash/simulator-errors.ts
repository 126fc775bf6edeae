/**
 * bKash's documented error table for Tokenized Checkout, as the simulator answers it. Texts are bKash's
 * own, typos included ("Mendatory"): the table at developer.bka.sh/docs/error-codes (transcribed in
 * api-evangelist/bkash errors/bkash-error-codes.yml, identical in the WHMCS copies), refund codes from the
 * portal's Refund (v2) page (research notes §9.2, §9.3). Only the codes the simulator can produce are listed.
 */
export const BKASH_ERROR_MESSAGES = {
  '2001': 'Invalid App Key',
  '2002': 'Invalid Payment ID',
  '2006': 'Invalid amount',
  '2007': 'Invalid currency',
  '2008': 'Invalid intent',
  '2009': 'Invalid Wallet',
  '2014': 'Wrong PIN',
  '2015': 'Wrong PIN count exceeded',
  '2016': 'Wrong verification code',
  '2017': 'Wrong verification limit exceeded',
  '2023': 'Insufficient Balance',
  '2025': 'Invalid request body',
  '2031': 'Invalid merchant invoice number',
  '2033': 'Transaction not found',
  '2037': 'The account of the debit party is in a state which prohibits execution of this transaction',
  '2047': 'TLV Data Format Error',
  '2048': 'Invalid Payer Reference',
  '2049': 'Invalid Merchant Callback URL',
  '2056': 'Invalid Payment State',
  '2057': 'Not a bKash Account',
  '2063': 'Mode is not valid as per request data',
  '2065': 'Mendatory field missing',
  '2072': 'Refund amount not valid',
  '2074': 'The transaction cannot be reversed',
  '2075': 'SKU Character Limit Exceeded',
  '2076': 'Reason Character Limit Exceeded',
  '2077': 'Invalid TrxID',
  '2127': 'Transaction not yet completed',
  // The table says "The payment execution has already been completed"; a real sandbox log of a second
  // execute (notes §9.4, S7) shows this text, which is what integrators match on.
  '2117': 'Payment execution already been called before',
  // Not in the table; observed for bad grant credentials (notes §2.1, single source). The live answer
  // carries a raw newline inside the JSON string, which makes it invalid JSON: we send valid JSON.
  '9999': 'Invalid credentials.',
  '503': 'System is undergoing maintenance. Please try again later',
} as const;

export type BkashErrorCode = keyof typeof BKASH_ERROR_MESSAGES;

export interface BkashErrorBody {
  statusCode: string;
  statusMessage: string;
}

/** A business error: bKash answers these with HTTP 200 and string codes (notes §9.1, S1 prepareResponse). */
export function bkashError(code: BkashErrorCode, message: string = BKASH_ERROR_MESSAGES[code]): BkashErrorBody {
  return { statusCode: code, statusMessage: message };
}

/** The success envelope every tokenized answer carries. */
export const BKASH_OK = { statusCode: '0000', statusMessage: 'Successful' } as const;
