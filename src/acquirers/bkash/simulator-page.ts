/**
 * The simulated hosted payment page (the `bkashURL`): wallet number → verification code → PIN, with
 * Close on every step, then a GET redirect of the browser to the merchant's success / failure /
 * cancelled callback URL (notes §4, §13). Server-rendered, works without JavaScript; every
 * interpolated value is escaped by `html`.
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { html, type Html } from '../../http/html.js';
import { BKASH_ERROR_MESSAGES } from './simulator-errors.js';
import {
  BKASH_SIMULATOR_OTP,
  BKASH_SIMULATOR_PIN,
  BKASH_SIMULATOR_WALLETS,
  MAX_CODE_ATTEMPTS,
  sameSecret,
  walletBehaviour,
  type SimPayment,
  type SimulatorState,
} from './simulator-state.js';

const TITLE = 'bKash Payment (simulator)';
// No script at all; inline style only. No form-action: the last POST redirects to the merchant's
// origin, and browsers apply form-action to that redirect.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";
const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f4f6;margin:0;padding:1.5rem}
main{max-width:26rem;margin:auto;background:#fff;border-top:.4rem solid #e2136e;padding:1.25rem 1.5rem;border-radius:.4rem}
h1{font-size:1.3rem;color:#e2136e;margin:.2rem 0 1rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}
dt{color:#555}dd{margin:0;font-weight:600}label{display:block;margin:1rem 0 .3rem}input{font-size:1.1rem;padding:.4rem;width:100%;box-sizing:border-box}
button{margin-top:1rem;font-size:1rem;padding:.5rem 1.2rem}.error{color:#b00020;font-weight:600}footer{margin-top:1.5rem;color:#555}`;

type Form = Record<string, unknown>;
type Step = 'wallet' | 'otp' | 'pin';

const field = (form: unknown, name: string): string => {
  const v = typeof form === 'object' && form !== null ? (form as Form)[name] : undefined; // a parsed urlencoded body
  return typeof v === 'string' ? v.trim() : '';
};

/** Local 11-digit form of what a customer may type: spaces, dashes, +880 / 880 prefixes. */
function normaliseWallet(input: string): string {
  const digits = input.replace(/[\s-]/g, '').replace(/^\+?88(?=01)/, '');
  return digits;
}

function send(reply: FastifyReply, status: number, content: Html): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('cache-control', 'no-store')
    .send(content.toString());
}

function layout(p: SimPayment | undefined, content: Html): Html {
  const summary = p
    ? html`<dl><dt>Merchant invoice</dt><dd>${p.merchantInvoiceNumber}</dd><dt>Amount</dt><dd>${p.amount} ${p.currency}</dd></dl>`
    : '';
  const wallets = BKASH_SIMULATOR_WALLETS.map(
    (w) => html`<li>${w.wallet}${w.behaviour === 'success' ? '' : html` (${w.behaviour.replace('_', ' ')})`}</li>`,
  );
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${TITLE}</title><style>${STYLE}</style></head>
<body><main>
<h1>${TITLE}</h1>
${summary}
${content}
<footer><small>Simulator test wallets: <ul>${wallets}</ul>Verification code ${BKASH_SIMULATOR_OTP}, PIN ${BKASH_SIMULATOR_PIN}.</small></footer>
</main></body></html>`;
}

export async function bkashPageRoutes(app: FastifyInstance, opts: { state: SimulatorState }): Promise<void> {
  const { state } = opts;
  app.removeAllContentTypeParsers();
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  // The plugin's mount point, whatever prefix the host gave it, so form actions resolve anywhere.
  const base = app.prefix;
  const action = (p: SimPayment, step: Step | 'cancel') =>
    `${base}/checkout/${encodeURIComponent(p.paymentID)}/${step}`;

  function stepForm(p: SimPayment, error?: string): Html {
    const hidden = html`<input type="hidden" name="hash" value="${p.hash}">`;
    const alert = error ? html`<p class="error" role="alert">${error}</p>` : '';
    const input =
      p.step === 'wallet'
        ? html`<label for="wallet">bKash account number</label>
<input id="wallet" name="wallet" type="tel" inputmode="numeric" autocomplete="tel" maxlength="16" required
 value="${walletBehaviour(p.payerReference.trim()) ? p.payerReference.trim() : ''}" placeholder="01XXXXXXXXX">`
        : p.step === 'otp'
          ? html`<p>A verification code was sent to ${p.wallet}.</p>
<label for="otp">Verification code</label>
<input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required>`
          : html`<label for="pin">PIN</label>
<input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" maxlength="5" required>`;
    // payerReference pre-fills the wallet field when it is a wallet number (§3, S4).
    return html`${alert}<form method="post" action="${action(p, p.step)}">${hidden}${input}
<button type="submit">Confirm</button></form>
<form method="post" action="${action(p, 'cancel')}">${hidden}<button type="submit">Close</button></form>`;
  }

  const message = (reply: FastifyReply, p: SimPayment | undefined, text: string, status = 200) =>
    send(reply, status, layout(p, html`<p role="status">${text}</p>`));
  const invalidLink = (reply: FastifyReply) => message(reply, undefined, 'This payment link is not valid.', 404);
  const AUTHORISED = 'Payment authorised. You may close this window.';

  function ended(reply: FastifyReply, p: SimPayment) {
    if (state.expired(p)) return message(reply, p, 'This payment session has expired.', 410);
    if (p.customerOutcome === 'success') return message(reply, p, AUTHORISED);
    return message(reply, p, 'This payment has already been processed. You may close this window.', 409);
  }

  /** Sends the browser on, or (the `.73` knob) keeps it here with the callback held back. */
  function finish(reply: FastifyReply, p: SimPayment, outcome: 'success' | 'failure' | 'cancel') {
    const to = state.finish(p, outcome);
    if (to === null) return message(reply, p, AUTHORISED);
    return reply.code(302).header('location', to).header('cache-control', 'no-store').send();
  }

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>('/', async (req, reply) => {
    const q = req.query;
    const id = q.paymentId ?? q.paymentID;
    const p = typeof id === 'string' ? state.payments.get(id) : undefined;
    if (!p || !sameSecret(q.hash, p.hash)) return invalidLink(reply);
    return state.open(p) ? send(reply, 200, layout(p, stepForm(p))) : ended(reply, p);
  });

  app.post<{ Params: { paymentID: string; step: string } }>('/checkout/:paymentID/:step', async (req, reply) => {
    const p = state.payments.get(req.params.paymentID);
    if (!p || !sameSecret(field(req.body, 'hash'), p.hash)) {
      return invalidLink(reply);
    }
    if (!state.open(p)) return ended(reply, p);
    const step = req.params.step;
    if (step === 'cancel') return finish(reply, p, 'cancel');
    // A form from an earlier step (back button, double submit): show where the customer really is.
    if (step !== p.step) return send(reply, 200, layout(p, stepForm(p)));

    if (p.step === 'wallet') {
      const wallet = normaliseWallet(field(req.body, 'wallet'));
      if (!/^01[3-9]\d{8}$/.test(wallet)) return send(reply, 200, layout(p, stepForm(p, BKASH_ERROR_MESSAGES['2009'])));
      if (!walletBehaviour(wallet)) return send(reply, 200, layout(p, stepForm(p, BKASH_ERROR_MESSAGES['2057'])));
      p.wallet = wallet;
      p.step = 'otp';
      return send(reply, 200, layout(p, stepForm(p)));
    }
    if (p.step === 'otp') {
      if (field(req.body, 'otp') === BKASH_SIMULATOR_OTP) {
        p.step = 'pin';
        return send(reply, 200, layout(p, stepForm(p)));
      }
      if (++p.otpFailures >= MAX_CODE_ATTEMPTS) return finish(reply, p, 'failure');
      return send(reply, 200, layout(p, stepForm(p, BKASH_ERROR_MESSAGES['2016'])));
    }
    if (field(req.body, 'pin') === BKASH_SIMULATOR_PIN) return finish(reply, p, 'success');
    // The third wrong PIN ends the payment ("Wrong PIN count exceeded", 2015).
    if (++p.pinFailures >= MAX_CODE_ATTEMPTS) return finish(reply, p, 'failure');
    return send(reply, 200, layout(p, stepForm(p, BKASH_ERROR_MESSAGES['2014'])));
  });
}
