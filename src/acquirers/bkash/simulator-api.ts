/**
 * The simulated bKash Tokenized Checkout API (v1.2.0-beta): token grant/refresh, create, execute,
 * query, search, refund. Every call is a JSON POST; business errors are HTTP 200 with string
 * `statusCode`/`statusMessage`, auth failures HTTP 401 `{message}` (notes §1, §2, §9.1).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bkashError, type BkashErrorBody } from './simulator-errors.js';
import { createRefundHandlers } from './simulator-refunds.js';
import {
  bkashTime,
  knobOf,
  parseAmount,
  sameSecret,
  walletBehaviour,
  type SimPayment,
  type SimulatorState,
  type StatName,
} from './simulator-state.js';
import { fail, isRecord, json, MAX_TEXT, ok, str, type Body } from './simulator-wire.js';

function httpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

export async function bkashApiRoutes(app: FastifyInstance, opts: { state: SimulatorState }): Promise<void> {
  const { state } = opts;
  const { credentials: creds, now } = state.opts;

  // JSON only, in this scope alone (the gateway that mounts us keeps its own parsers). An empty body
  // reads as {}, so a bare POST gets bKash's "missing field" answer rather than a parser error.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, {});
    else parseJson(req, text, done);
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode ?? 500;
    if (status === 400) return fail(reply, bkashError('2025'));
    // bKash sits behind AWS API Gateway, whose own errors are `{message}` bodies (§9.1).
    return json(reply, status, { message: status >= 500 ? 'Internal server error' : err.message });
  });

  const bodyOf = (req: FastifyRequest): Body => (isRecord(req.body) ? req.body : {});

  /** Grant and refresh authenticate with `username`/`password` headers and the app key/secret (§2.1). */
  function merchantCredentialsError(req: FastifyRequest, b: Body): BkashErrorBody | undefined {
    if (!sameSecret(req.headers.username, creds.username) || !sameSecret(req.headers.password, creds.password)) {
      return bkashError('9999');
    }
    if (!sameSecret(b.app_key, creds.appKey)) return bkashError('2001');
    // A wrong secret with the right key: undocumented; answered like bad credentials.
    if (!sameSecret(b.app_secret, creds.appSecret)) return bkashError('9999');
    return undefined;
  }

  function tokenAnswer(reply: FastifyReply, refreshToken?: string) {
    const t = state.issueTokens(refreshToken);
    // expires_in is a JSON number on the wire today (§2.1, observed S7, S9).
    return ok(reply, {
      id_token: t.idToken,
      token_type: 'Bearer',
      expires_in: state.opts.tokenTtlSeconds,
      refresh_token: t.refreshToken,
    });
  }

  app.post('/token/grant', async (req, reply) => {
    state.stats.grant++;
    const error = merchantCredentialsError(req, bodyOf(req));
    return error ? fail(reply, error) : tokenAnswer(reply);
  });

  app.post('/token/refresh', async (req, reply) => {
    state.stats.refresh++;
    const b = bodyOf(req);
    const error = merchantCredentialsError(req, b);
    if (error) return fail(reply, error);
    // An expired refresh token was seen answering 9999 (§2.2); its text is not known.
    if (!state.refreshValid(b.refresh_token)) return fail(reply, bkashError('9999', 'Invalid refresh token'));
    return tokenAnswer(reply, str(b.refresh_token));
  });

  /**
   * Business calls: `Authorization: <id_token>` raw (§2.4; `Bearer ` tolerated, never required) and
   * `X-APP-Key`. Counted per endpoint whatever the answer.
   */
  function business(stat: (b: Body) => StatName, handler: (b: Body, reply: FastifyReply) => Promise<unknown>) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      const b = bodyOf(req);
      state.stats[stat(b)]++;
      const header = req.headers.authorization;
      const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : header;
      const tokenState = state.tokenState(token);
      if (tokenState !== 'valid') {
        state.stats.unauthorized++;
        const message = tokenState === 'expired' ? 'The incoming token has expired' : 'Unauthorized';
        return json(reply, 401, { message });
      }
      // Whether a wrong key gets 2001 or a gateway 403 is not established (§9.1); 2001 is the table's.
      if (!sameSecret(req.headers['x-app-key'], creds.appKey)) return fail(reply, bkashError('2001'));
      return handler(b, reply);
    };
  }

  app.post(
    '/create',
    business(
      () => 'create',
      async (b, reply) => create(b, reply),
    ),
  );

  async function create(b: Body, reply: FastifyReply) {
    const mandatory = ['mode', 'callbackURL', 'amount', 'currency', 'intent', 'merchantInvoiceNumber'];
    if (mandatory.some((k) => b[k] === undefined || b[k] === null)) return fail(reply, bkashError('2065'));
    // Only Checkout URL (no agreement) is simulated; 0000/0001 are agreement modes (§3, S1).
    if (b.mode !== '0011') return fail(reply, bkashError('2063'));
    // "Space acceptable, String required. Null is not accepted" (§3, S4).
    const payerReference = str(b.payerReference);
    if (!payerReference || payerReference.length > MAX_TEXT) return fail(reply, bkashError('2048'));
    const callbackURL = str(b.callbackURL);
    if (!callbackURL || !httpUrl(callbackURL)) return fail(reply, bkashError('2049'));
    const amount = parseAmount(b.amount);
    if (!amount) return fail(reply, bkashError('2006'));
    if (b.currency !== 'BDT') return fail(reply, bkashError('2007'));
    // intent "authorization" (Auth & Capture) exists upstream but is not simulated.
    if (b.intent !== 'sale') return fail(reply, bkashError('2008'));
    const invoice = str(b.merchantInvoiceNumber);
    // Up to 255, without < > & (§3, S3).
    if (!invoice || invoice.length > MAX_TEXT || /[<>&]/.test(invoice)) return fail(reply, bkashError('2031'));
    const association = b.merchantAssociationInfo;
    if (association !== undefined && (typeof association !== 'string' || association.length > MAX_TEXT)) {
      return fail(reply, bkashError('2047'));
    }
    // A duplicate merchantInvoiceNumber is accepted: bKash documents no refusal for it.

    const knob = knobOf(amount.text);
    if (knob === 'create_hang') {
      // The payment is never made; the answer, if the caller still waits, is API Gateway's
      // integration timeout (an assumption: bKash's timeout text is undocumented).
      await state.hang(reply.raw);
      return json(reply, 504, { message: 'Endpoint request timed out' });
    }
    state.sweep();
    const p: SimPayment = {
      paymentID: state.newPaymentID(),
      hash: state.newHash(),
      signature: state.newSignature(),
      amount: amount.text,
      minor: amount.minor,
      currency: 'BDT',
      intent: 'sale',
      merchantInvoiceNumber: invoice,
      payerReference,
      callbackURL,
      merchantAssociationInfo: association,
      knob,
      createdAt: now(),
      step: 'wallet',
      wallet: undefined,
      otpFailures: 0,
      pinFailures: 0,
      customerOutcome: 'pending',
      executeError: undefined,
      trxID: undefined,
      executedAt: undefined,
      executeCalls: 0,
      statusQueries: 0,
      refunds: [],
    };
    state.payments.set(p.paymentID, p);
    // The 2024+ page URL shape, with lower-case `paymentId` and the trailing slash (§1; S7, S8, S9).
    const q = `paymentId=${encodeURIComponent(p.paymentID)}&hash=${p.hash}&mode=0011&apiVersion=v1.2.0-beta/`;
    return ok(reply, {
      paymentID: p.paymentID,
      paymentCreateTime: bkashTime(p.createdAt),
      transactionStatus: 'Initiated',
      amount: p.amount,
      currency: p.currency,
      intent: p.intent,
      merchantInvoiceNumber: p.merchantInvoiceNumber,
      bkashURL: `${state.opts.publicUrl()}/?${q}`,
      callbackURL: p.callbackURL,
      successCallbackURL: state.callbackFor(p, 'success'),
      failureCallbackURL: state.callbackFor(p, 'failure'),
      cancelledCallbackURL: state.callbackFor(p, 'cancel'),
    });
  }

  const paymentOf = (b: Body) => state.payments.get(str(b.paymentID) ?? '');

  app.post(
    '/execute',
    business(
      () => 'execute',
      async (b, reply) => {
        const p = paymentOf(b);
        if (!p) return fail(reply, bkashError(b.paymentID === undefined ? '2065' : '2002'));
        p.executeCalls++;
        if (p.trxID) return fail(reply, bkashError('2117')); // runtime text of a real second execute (S7)
        // Not verified, failed, cancelled, refused before, or past the 24 h window (§5, §10).
        if (p.customerOutcome !== 'success' || p.executeError || state.expired(p)) {
          return fail(reply, bkashError('2056'));
        }
        // The sandbox wallets for these outcomes answer at execute (§11; 2023 observed in S7; the
        // debit block wallet's code is undocumented, 2037 is the table's "debit party" refusal).
        const behaviour = walletBehaviour(p.wallet ?? '');
        if (behaviour === 'insufficient_balance' || behaviour === 'debit_block') {
          p.executeError = behaviour === 'insufficient_balance' ? '2023' : '2037';
          return fail(reply, bkashError(p.executeError));
        }
        p.trxID = state.newTrxID();
        p.executedAt = now();
        state.byTrxID.set(p.trxID, p);
        if (p.knob === 'execute_500') return json(reply, 500, { message: 'Internal server error' });
        if (p.knob === 'execute_hang') await state.hang(reply.raw);
        return ok(reply, {
          paymentID: p.paymentID,
          customerMsisdn: p.wallet,
          payerReference: p.payerReference,
          paymentExecuteTime: bkashTime(p.executedAt),
          trxID: p.trxID,
          transactionStatus: 'Completed',
          amount: p.amount,
          currency: p.currency,
          intent: p.intent,
          merchantInvoiceNumber: p.merchantInvoiceNumber,
          payerType: 'Customer',
          payerAccount: p.wallet,
          maxRefundableAmount: p.amount,
        });
      },
    ),
  );

  app.post(
    '/payment/status',
    business(
      () => 'status',
      async (b, reply) => {
        const p = paymentOf(b);
        if (!p) return fail(reply, bkashError(b.paymentID === undefined ? '2065' : '2002'));
        if (p.knob === 'status_503' && ++p.statusQueries <= 2) {
          return json(reply, 503, { statusCode: '503', statusMessage: bkashError('503').statusMessage });
        }
        // Live answers say verificationStatus and merchantInvoice; the reference says
        // userVerificationStatus and merchantInvoiceNumber (§6). Both of each, so either reader works.
        const verification = p.customerOutcome === 'success' ? 'Complete' : 'Incomplete';
        return ok(reply, {
          paymentID: p.paymentID,
          mode: '0011',
          paymentCreateTime: bkashTime(p.createdAt),
          paymentExecuteTime: p.executedAt === undefined ? undefined : bkashTime(p.executedAt),
          amount: p.amount,
          currency: p.currency,
          intent: p.intent,
          merchantInvoice: p.merchantInvoiceNumber,
          merchantInvoiceNumber: p.merchantInvoiceNumber,
          trxID: p.trxID,
          transactionStatus: state.transactionStatus(p),
          verificationStatus: verification,
          userVerificationStatus: verification,
          payerReference: p.payerReference,
        });
      },
    ),
  );

  app.post(
    '/general/searchTransaction',
    business(
      () => 'search',
      async (b, reply) => {
        const p = state.byTrxID.get(str(b.trxID) ?? '');
        if (!p || p.executedAt === undefined) return fail(reply, bkashError(b.trxID === undefined ? '2065' : '2033'));
        // Field set as observed (§7; S5, S6); the short code is the simulator's own.
        return ok(reply, {
          trxID: p.trxID,
          initiationTime: bkashTime(p.executedAt),
          completedTime: bkashTime(p.executedAt),
          transactionType: 'bKash Tokenized Checkout via API',
          customerMsisdn: p.wallet,
          transactionStatus: 'Completed',
          amount: p.amount,
          currency: p.currency,
          organizationShortCode: '50100',
        });
      },
    ),
  );

  const refunds = createRefundHandlers(state);
  // Refund and refund status share one path; a body without `amount` asks for the status (§8.1, §8.2;
  // S1 refund()/refundStatus(), S5 TBRefund).
  app.post(
    '/payment/refund',
    business(
      (b) => (b.amount === undefined ? 'refundStatus' : 'refund'),
      async (b, reply) => (b.amount === undefined ? refunds.status(b, reply) : refunds.refund(b, reply)),
    ),
  );
}
