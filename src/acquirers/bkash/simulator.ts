/**
 * A simulator of bKash Tokenized Checkout (v1.2.0-beta, Checkout URL, mode 0011), following the
 * contract in the research notes (/work/notes/bkash-spec.md) and the sources they cite: a real HTTP
 * server holding its state in memory. It serves the gateway's tests, `wmx simulate bkash`, and the
 * sandbox gateway (mounted under a prefix) so the demo shop can pay through it.
 *
 * Knobs are per payment, by the cents of its amount (so tests run in parallel without switches):
 *   .71 execute completes, its answer hangs   .72 execute completes, answers HTTP 500
 *   .73 the success callback never comes      .74 refund refused (2074)
 *   .75 refund completes, its answer hangs    .76 create hangs, no payment is made
 *   .77 the first 2 status queries answer HTTP 503
 * The one global control is token expiry (POST /_sim/tokens/expire).
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { controlApiParsing, listenSimulator } from '../simulator-server.js';
import { bkashApiRoutes } from './simulator-api.js';
import { bkashPageRoutes } from './simulator-page.js';
import {
  BKASH_SIMULATOR_DEFAULT_CREDENTIALS,
  BKASH_SIMULATOR_DEFAULT_WALLET,
  createSimulatorState,
  walletBehaviour,
  type BkashSimulatorCredentials,
  type BkashSimulatorOptions,
  type SimulatorState,
} from './simulator-state.js';

export {
  BKASH_SIMULATOR_DEFAULT_CREDENTIALS,
  BKASH_SIMULATOR_DEFAULT_WALLET,
  BKASH_SIMULATOR_OTP,
  BKASH_SIMULATOR_PIN,
  BKASH_SIMULATOR_WALLETS,
  type BkashSimulatorCredentials,
  type BkashSimulatorOptions,
  type WalletBehaviour,
} from './simulator-state.js';

/** The API's version segment; a connector's base URL is the simulator's URL plus this. */
export const BKASH_SIMULATOR_API_PREFIX = '/v1.2.0-beta';

/**
 * A Fastify plugin; register it with a `prefix` matching publicUrl's path. Routes: API under
 * `/v1.2.0-beta/tokenized/checkout/...`, the hosted page, and the control API under `/_sim/...`. It
 * registers its own body parsers inside its encapsulated scope (JSON for the API; urlencoded for its
 * page forms via @fastify/formbody).
 */
export function bkashSimulatorPlugin(opts: BkashSimulatorOptions): FastifyPluginAsync {
  const publicUrl = opts.publicUrl.replace(/\/+$/, '');
  return simulatorPlugin(opts, () => publicUrl);
}

function simulatorPlugin(opts: Partial<BkashSimulatorOptions>, publicUrl: () => string): FastifyPluginAsync {
  return async (app) => {
    const state = createSimulatorState({
      publicUrl,
      credentials: opts.credentials ?? BKASH_SIMULATOR_DEFAULT_CREDENTIALS,
      tokenTtlSeconds: opts.tokenTtlSeconds ?? 3600,
      hangMs: opts.hangMs ?? 60_000,
      paymentTtlMs: opts.paymentTtlMs ?? 24 * 3600_000,
      now: opts.now ?? Date.now,
    });
    // Hung answers are let go before the server stops, so closing never waits out a hang.
    app.addHook('preClose', (done) => {
      state.releaseHangs();
      done();
    });
    await app.register(bkashApiRoutes, { prefix: `${BKASH_SIMULATOR_API_PREFIX}/tokenized/checkout`, state });
    await app.register(bkashPageRoutes, { state });
    await app.register(controlRoutes, { prefix: '/_sim', state });
  };
}

type Action = 'success' | 'failure' | 'cancel';
const ACTIONS: readonly string[] = ['success', 'failure', 'cancel'] satisfies Action[];
const isAction = (v: unknown): v is Action => typeof v === 'string' && ACTIONS.includes(v);

/** The control API for tests: JSON in and out, `{error}` on a refusal. */
async function controlRoutes(app: FastifyInstance, opts: { state: SimulatorState }): Promise<void> {
  const { state } = opts;
  app.removeAllContentTypeParsers();
  controlApiParsing(app);

  app.post<{ Params: { paymentID: string }; Body: { action?: unknown; wallet?: unknown } | undefined }>(
    '/payments/:paymentID/customer',
    async (req, reply) => {
      const p = state.payments.get(req.params.paymentID);
      if (!p) return reply.code(404).send({ error: 'unknown paymentID' });
      const { action, wallet = BKASH_SIMULATOR_DEFAULT_WALLET } = req.body ?? {};
      if (!isAction(action)) return reply.code(400).send({ error: 'action must be success, failure or cancel' });
      if (!state.open(p)) {
        const why = state.expired(p) ? 'expired' : `already ended: ${p.customerOutcome}`;
        return reply.code(409).send({ error: `payment ${why}` });
      }
      if (action === 'success') {
        if (typeof wallet !== 'string' || !walletBehaviour(wallet)) {
          return reply.code(422).send({ error: 'Not a bKash Account' });
        }
        p.wallet = wallet;
      }
      return { redirect: state.finish(p, action) };
    },
  );

  app.get<{ Params: { paymentID: string } }>('/payments/:paymentID', async (req, reply) => {
    const p = state.payments.get(req.params.paymentID);
    if (!p) return reply.code(404).send({ error: 'unknown paymentID' });
    return {
      paymentID: p.paymentID,
      amount: p.amount,
      merchantInvoiceNumber: p.merchantInvoiceNumber,
      payerReference: p.payerReference,
      callbackURL: p.callbackURL,
      transactionStatus: state.transactionStatus(p),
      verificationStatus: p.customerOutcome === 'success' ? 'Complete' : 'Incomplete',
      customerOutcome: p.customerOutcome,
      wallet: p.wallet ?? null,
      knob: p.knob ?? null,
      executeError: p.executeError ?? null,
      trxID: p.trxID ?? null,
      executeCalls: p.executeCalls,
      refunds: p.refunds.map((r) => ({
        refundTrxID: r.refundTrxID,
        amount: r.amount,
        sku: r.sku,
        reason: r.reason,
        completedTime: r.completedTime,
      })),
      createdAt: p.createdAt,
    };
  });

  app.get('/stats', async () => ({ ...state.stats }));

  app.post('/tokens/expire', async () => ({ expired: state.expireTokens() }));
}

/** Standalone server for tests and the CLI. port 0 = ephemeral. Resolves once listening. */
export async function startBkashSimulator(
  opts: Partial<BkashSimulatorOptions> & { port?: number; host?: string } = {},
): Promise<{ url: string; baseUrl: string; credentials: BkashSimulatorCredentials; close(): Promise<void> }> {
  // bkashURL reads the public URL lazily.
  const { url, close } = await listenSimulator((publicUrl) => simulatorPlugin(opts, publicUrl), opts);
  return {
    url,
    baseUrl: `${url}${BKASH_SIMULATOR_API_PREFIX}`,
    credentials: opts.credentials ?? BKASH_SIMULATOR_DEFAULT_CREDENTIALS,
    close,
  };
}
