/** Every coded error the gateway can answer with (PROTOCOL.md section 4). */
export type ErrorCode =
  | '2001'
  | '2002'
  | '2003'
  | '2004'
  | '2005'
  | '2006'
  | '2007'
  | '2008'
  | '2009'
  | '2010'
  | '3001'
  | '4001'
  | '4002'
  | '4003'
  | '5000';

export const ERROR_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  '2001': 'Authentication failed',
  '2002': 'Merchant is not active',
  '2003': 'Required field missing',
  '2004': 'Invalid field',
  '2005': 'Invalid amount',
  '2006': 'Currency not supported',
  '2007': 'callback_url is not allowed for this merchant',
  '2008': 'merchant_ref_id already used with different order fields',
  '2009': 'Token not found',
  '2010': 'Too many requests',
  '3001': 'Gateway is under maintenance',
  // Refunds and settlements (ours; not part of the legacy protocol's answers).
  '4001': 'Refund amount exceeds what is refundable',
  '4002': 'Payment is not refundable (not approved)',
  '4003': 'Refund failed at the bank',
  '5000': 'Internal error',
};

export class WmxError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_MESSAGES[code],
    readonly field?: string,
  ) {
    super(message);
    this.name = 'WmxError';
  }
}

/** 2010: a limit was hit; the client may try again after retryAfterSeconds (sent as Retry-After). */
export class RateLimitedError extends WmxError {
  constructor(readonly retryAfterSeconds: number) {
    super('2010');
    this.name = 'RateLimitedError';
  }
}

export const fieldMissing = (field: string): WmxError =>
  new WmxError('2003', `Required field missing: ${field}`, field);

export const fieldInvalid = (field: string, why: string): WmxError =>
  new WmxError('2004', `Invalid field ${field}: ${why}`, field);
