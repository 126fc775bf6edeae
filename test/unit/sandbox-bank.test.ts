import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cardBrand, luhnValid } from '../../src/domain/card.js';
import type { CardBrand } from '../../src/domain/card.js';
import { INSTRUMENT_CODE_TABLE, cardCodes, ibankingCodes, walletCodes } from '../../src/acquirers/codes.js';
import {
  AcquirerTimeoutError,
  withTimeout,
  type AuthorizeResult,
  type InstrumentInfo,
  type PaymentAttempt,
  type RefundAttempt,
  type Instrument,
  type WalletProvider,
} from '../../src/acquirers/port.js';
import {
  INSTRUMENT_CODES,
  SANDBOX_INSTRUMENTS,
  SANDBOX_NEXUS_CARD,
  SANDBOX_REFUND_FAIL_CARD,
  createSandboxBank,
} from '../../src/acquirers/sandbox/bank.js';

const bank = createSandboxBank();
const live = () => new AbortController().signal;

function card(digits: string, over: Partial<Extract<Instrument, { kind: 'card' }>> = {}): Instrument {
  const brand = cardBrand(digits) ?? 'VISA';
  return {
    kind: 'card',
    digits,
    brand,
    expMonth: 12,
    expYear: new Date().getUTCFullYear() + 3,
    cvv: brand === 'AMEX' ? '9876' : '987',
    holder: 'Test Holder',
    ...over,
  };
}

/** The sandbox bank names the instrument in every answer to a card, wallet or login. */
type Result = AuthorizeResult & { info: InstrumentInfo };
const ctx = (signal = live()) => ({ signal, record: () => {} });
const attemptFor = (instrument: Instrument): PaymentAttempt => ({
  paymentId: 'pay_test',
  token: 'a'.repeat(40),
  refId: 'REF000000000001',
  merchantName: 'Test Shop',
  amountMinor: 1000n,
  currency: 'BDT',
  method:
    instrument.kind === 'card'
      ? 'card'
      : instrument.kind === 'mobile_wallet'
        ? instrument.provider
        : 'internet_banking',
  instrument,
  customer: {
    name: 'A',
    email: 'a@example.com',
    phone: '01700000000',
    address: '',
    city: '',
    postcode: '',
    country: '',
  },
  description: 'test',
  returnUrl: 'http://127.0.0.1/upstream/sandbox/return/' + 'a'.repeat(40),
  notifyUrl: 'http://127.0.0.1/upstream/sandbox/notify',
});
const authorize = (instrument: Instrument, acquirer = bank, signal = live()) =>
  acquirer.authorize(attemptFor(instrument), ctx(signal)) as Promise<Result>; // see Result
const refundFor = (authCode: string, amountMinor: bigint): RefundAttempt => ({
  refundId: 'rfd_test' + Math.random(),
  paymentId: 'pay_test',
  authCode,
  upstream: null,
  paymentAmountMinor: 1000n,
  amountMinor,
  reason: 'test',
  refundRef: null,
  otherRefundRefs: [],
});
const complete = (ref: string, otp: string) => bank.completeChallenge!(ref, otp, ctx()) as Promise<Result>; // see Result

/** Neither the full number nor the CVV may appear in anything the bank returns. */
function assertNoSecrets(r: AuthorizeResult, digits: string, cvv = '987'): void {
  const { ...rest } = r as AuthorizeResult & { authCode?: string };
  delete rest.authCode; // random; may contain a digit run by chance
  const text = JSON.stringify(rest);
  assert.ok(!text.includes(digits), 'full card number leaked');
  assert.ok(!text.includes(cvv), 'CVV leaked');
  if (r.outcome === 'challenge') {
    const ref = Buffer.from(r.challenge.ref, 'base64url').toString('utf8');
    assert.ok(!ref.includes(digits), 'full card number in the challenge ref');
    assert.ok(!ref.includes(cvv), 'CVV in the challenge ref');
  }
}

function approvedCode(r: AuthorizeResult): string {
  assert.equal(r.outcome, 'approved');
  assert.ok(r.outcome === 'approved');
  assert.match(r.authCode, /^[A-Z0-9]{6}$/);
  return r.authCode;
}

describe('sandbox bank: cards approved', () => {
  const cases: [string, CardBrand, string, string, boolean][] = [
    ['4111111111111111', 'VISA', '1001', '411111******1111', false],
    ['5555555555554444', 'MASTERCARD', '1002', '555555******4444', false],
    ['378282246310005', 'AMEX', '1003', '378282*****0005', false],
    [SANDBOX_NEXUS_CARD, 'NEXUS', '1004', '901234******1238', false],
    ['4242424242424242', 'VISA', '1001', '424242******4242', true],
    ['4012888888881881', 'VISA', '1001', '401288******1881', false],
    ['2221000000000009', 'MASTERCARD', '1002', '222100******0009', false],
    ['371449635398431', 'AMEX', '1003', '371449*****8431', false],
  ];
  for (const [digits, brand, code, masked, foreign] of cases) {
    it(`${masked} → approved, ${foreign ? 'foreign' : 'domestic'}`, async () => {
      const r = await authorize(card(digits));
      approvedCode(r);
      assert.deepEqual(r.info, {
        label: `${brand}-Sandbox Bank`,
        cardCode: code,
        masked,
        isForeign: foreign,
      });
      assertNoSecrets(r, digits, brand === 'AMEX' ? '9876' : '987');
    });
  }

  it('the Nexus test card is a Luhn-valid 16-digit number starting with 9', () => {
    assert.match(SANDBOX_NEXUS_CARD, /^9\d{15}$/);
    assert.equal(luhnValid(SANDBOX_NEXUS_CARD), true);
    assert.equal(cardBrand(SANDBOX_NEXUS_CARD), 'NEXUS');
  });

  it('auth codes are random', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 20; i++) codes.add(approvedCode(await authorize(card('4111111111111111'))));
    assert.ok(codes.size > 15);
  });
});

describe('sandbox bank: cards declined', () => {
  const cases: [string, string][] = [
    ['4000000000000002', 'Declined'],
    ['4000000000009995', 'Declined: insufficient funds'],
    ['4000000000000069', 'Declined: expired card'],
    ['4000000000000127', 'Declined: incorrect CVV'],
  ];
  for (const [digits, reason] of cases) {
    it(`${digits} → ${reason}`, async () => {
      const r = await authorize(card(digits));
      assert.equal(r.outcome, 'declined');
      assert.ok(r.outcome === 'declined');
      assert.equal(r.reason, reason);
      assert.deepEqual(r.info, {
        label: 'VISA-Sandbox Bank',
        cardCode: '1001',
        masked: `400000******${digits.slice(-4)}`,
        isForeign: false,
      });
      assertNoSecrets(r, digits);
    });
  }

  it('re-checks what the form should have caught', async () => {
    const reasonOf = async (i: Instrument) => {
      const r = await authorize(i);
      return r.outcome === 'declined' ? r.reason : r.outcome;
    };
    assert.equal(await reasonOf(card('4111111111111112')), 'Declined: invalid card number');
    assert.equal(await reasonOf(card('6011111111111117')), 'Declined: invalid card number');
    assert.equal(await reasonOf(card('4111111111111111', { expMonth: 1, expYear: 2020 })), 'Declined: expired card');
    assert.equal(await reasonOf(card('4111111111111111', { cvv: '1234' })), 'Declined: incorrect CVV');
    assert.equal(await reasonOf(card('378282246310005', { cvv: '123' })), 'Declined: incorrect CVV');
  });
});

describe('sandbox bank: one-time password', () => {
  it('4000000000003220: challenge, wrong OTP → retry (same ref still works), 123456 → approved', async () => {
    const r = await authorize(card('4000000000003220'));
    assert.equal(r.outcome, 'challenge');
    assert.ok(r.outcome === 'challenge');
    assert.equal(r.challenge.kind, 'otp');
    assert.ok(r.challenge.hint.length > 0);
    assert.equal(r.info.masked, '400000******3220');
    assertNoSecrets(r, '4000000000003220');

    const ref = r.challenge.ref;
    for (let i = 0; i < 3; i++) {
      const wrong = await complete(ref, '000000');
      assert.equal(wrong.outcome, 'retry');
      assert.ok(wrong.outcome === 'retry');
      assert.equal(wrong.field, 'otp');
      assert.ok(wrong.message.length > 0);
      assert.deepEqual(wrong.info, r.info);
    }
    const ok = await complete(ref, ' 123456 ');
    approvedCode(ok);
    assert.deepEqual(ok.info, r.info);
    assert.ok(ok.outcome === 'approved' && ok.authCode.startsWith('OK'));
  });

  it('4000008400001629: challenge, wrong OTP → retry, right OTP → declined', async () => {
    const r = await authorize(card('4000008400001629'));
    assert.ok(r.outcome === 'challenge');
    assertNoSecrets(r, '4000008400001629');
    const wrong = await complete(r.challenge.ref, '654321');
    assert.ok(wrong.outcome === 'retry' && wrong.field === 'otp');
    const done = await complete(r.challenge.ref, '123456');
    assert.ok(done.outcome === 'declined');
    assert.equal(done.reason, 'Declined: authentication failed');
    assert.equal(done.info.masked, '400000******1629');
  });

  it('a corrupt reference is an error, not an outcome', async () => {
    await assert.rejects(complete('not-a-ref', '123456'));
    const bogus = Buffer.from(JSON.stringify({ v: 1, o: 'approve' })).toString('base64url');
    await assert.rejects(complete(bogus, '123456'));
  });
});

describe('sandbox bank: the card that never answers', () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  it('withTimeout aborts it with AcquirerTimeoutError and leaves no timer behind', async () => {
    const slowBank = createSandboxBank({ timeoutHangMs: 10 * 60_000 });
    const before = timers();
    let seen: AbortSignal | undefined;
    await assert.rejects(
      withTimeout(50, (signal) => {
        seen = signal;
        return authorize(card('4000000000000119'), slowBank, signal);
      }),
      (err: unknown) => err instanceof AcquirerTimeoutError && err.name === 'AcquirerTimeoutError',
    );
    assert.equal(seen?.aborted, true);
    assert.ok(seen?.reason instanceof AcquirerTimeoutError);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(timers(), before);
  });

  it('if nobody gives up first, the bank itself answers "Bank timeout"', async () => {
    const r = await authorize(card('4000000000000119'), createSandboxBank({ timeoutHangMs: 5 }));
    assert.ok(r.outcome === 'declined');
    assert.equal(r.reason, 'Bank timeout');
    assert.equal(r.info.masked, '400000******0119');
  });
});

describe('sandbox bank: mobile wallets', () => {
  const providers: [WalletProvider, string, string][] = [
    ['bkash', 'BKASH-bKash', '6001'],
    ['nagad', 'NAGAD-Nagad', '6002'],
    ['rocket', 'ROCKET-Rocket', '6003'],
  ];
  const wallet = (provider: WalletProvider, walletNumber: string, pin = '12121'): Instrument => ({
    kind: 'mobile_wallet',
    provider,
    walletNumber,
    pin,
  });

  for (const [provider, label, code] of providers) {
    describe(provider, () => {
      const info = { label, cardCode: code, masked: '017****0001', isForeign: false };

      it('01700000001 + PIN 12121 → OTP step → 123456 approves', async () => {
        const r = await authorize(wallet(provider, '01700000001'));
        assert.ok(r.outcome === 'challenge');
        assert.deepEqual(r.info, info);
        assert.ok(!Buffer.from(r.challenge.ref, 'base64url').toString().includes('12121'), 'PIN in the ref');
        const wrong = await complete(r.challenge.ref, '111111');
        assert.ok(wrong.outcome === 'retry' && wrong.field === 'otp');
        const ok = await complete(r.challenge.ref, '123456');
        approvedCode(ok);
        assert.deepEqual(ok.info, info);
      });

      it('wrong PIN → retry on the PIN', async () => {
        const r = await authorize(wallet(provider, '01700000001', '11111'));
        assert.ok(r.outcome === 'retry');
        assert.equal(r.field, 'pin');
        assert.ok(r.message.length > 0);
        assert.deepEqual(r.info, info);
      });

      it('01700000002 → insufficient balance', async () => {
        const r = await authorize(wallet(provider, '01700000002'));
        assert.ok(r.outcome === 'declined');
        assert.equal(r.reason, 'Declined: insufficient balance');
        assert.deepEqual(r.info, { ...info, masked: '017****0002' });
      });

      it('any other number → not registered', async () => {
        const r = await authorize(wallet(provider, '01811111111'));
        assert.ok(r.outcome === 'declined');
        assert.equal(r.reason, 'Declined: wallet not registered');
        assert.equal(r.info.masked, '018****1111');
      });
    });
  }

  it('takes the international form of the number', async () => {
    const r = await authorize(wallet('bkash', '+8801700000001'));
    assert.ok(r.outcome === 'challenge');
    assert.equal(r.info.masked, '017****0001');
  });
});

describe('sandbox bank: internet banking', () => {
  const ib = (username: string, password: string): Instrument => ({
    kind: 'internet_banking',
    bank: 'sandbox',
    username,
    password,
  });
  const info = (masked: string) => ({ label: 'IBANKING-Sandbox Bank', cardCode: '7001', masked, isForeign: false });

  it('sandbox / sandbox → approved', async () => {
    const r = await authorize(ib('sandbox', 'sandbox'));
    approvedCode(r);
    assert.deepEqual(r.info, info('sa******'));
  });

  it('anything else → retry on the password', async () => {
    for (const [u, p, masked] of [
      ['sandbox', 'wrong', 'sa******'],
      ['someone', 'sandbox', 'so******'],
      ['', '', '******'],
    ] as const) {
      const r = await authorize(ib(u, p));
      assert.ok(r.outcome === 'retry');
      assert.equal(r.field, 'password');
      assert.equal(r.message, 'Wrong username or password');
      assert.deepEqual(r.info, info(masked));
    }
  });
});

describe('sandbox bank: refunds', () => {
  const refund = (authCode: string, amountMinor = 500n) => bank.refund(refundFor(authCode, amountMinor), ctx());

  it('an ordinary payment refunds', async () => {
    const code = approvedCode(await authorize(card('4111111111111111')));
    assert.deepEqual(await refund(code), { outcome: 'succeeded' });
  });

  it(`${SANDBOX_REFUND_FAIL_CARD}: the payment is approved, its refunds fail`, async () => {
    const r = await authorize(card(SANDBOX_REFUND_FAIL_CARD));
    const code = approvedCode(r);
    assert.equal(r.info.masked, '400000******5126');
    assert.deepEqual(await refund(code), { outcome: 'failed', reason: 'Refund declined by issuer' });
  });

  it('a non-positive amount fails', async () => {
    const code = approvedCode(await authorize(card('4111111111111111')));
    assert.equal((await refund(code, 0n)).outcome, 'failed');
  });
});

describe('sandbox bank: latency and aborts', () => {
  it('latencyMs delays every call', async () => {
    const slow = createSandboxBank({ latencyMs: 40 });
    const t0 = performance.now();
    approvedCode(await authorize(card('4111111111111111'), slow));
    assert.ok(performance.now() - t0 >= 30);
  });

  it('an abort during the latency rejects with the abort reason, leaving no timer', async () => {
    const slow = createSandboxBank({ latencyMs: 10 * 60_000 });
    const ctrl = new AbortController();
    const reason = new Error('gave up');
    const p = authorize(card('4111111111111111'), slow, ctrl.signal);
    ctrl.abort(reason);
    await assert.rejects(p, (e) => e === reason);
    await assert.rejects(slow.refund(refundFor('OKAAAA', 1n), ctx(ctrl.signal)));
    await assert.rejects(slow.completeChallenge!('x', '123456', ctx(ctrl.signal)));
  });

  it('an already-aborted signal rejects at once', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    await assert.rejects(authorize(card('4111111111111111'), bank, ctrl.signal));
  });
});

describe('withTimeout', () => {
  it('passes a fast answer through', async () => {
    assert.equal(await withTimeout(1000, async () => 42), 42);
  });

  it('passes the call’s own rejection through', async () => {
    const boom = new Error('boom');
    await assert.rejects(
      withTimeout(1000, () => Promise.reject(boom)),
      (e) => e === boom,
    );
    await assert.rejects(
      withTimeout(1000, () => {
        throw boom;
      }),
      (e) => e === boom,
    );
  });

  it('times out a call that ignores its signal', async () => {
    await assert.rejects(
      withTimeout(20, () => new Promise<never>(() => {})),
      AcquirerTimeoutError,
    );
  });
});

describe('published code tables', () => {
  it('card_code and payment_card for every instrument', () => {
    assert.deepEqual(
      INSTRUMENT_CODES.map((c) => [c.key, c.cardCode]),
      [
        ['VISA', '1001'],
        ['MASTERCARD', '1002'],
        ['AMEX', '1003'],
        ['NEXUS', '1004'],
        ['OTHERCARD', '1099'],
        ['BKASH', '6001'],
        ['NAGAD', '6002'],
        ['ROCKET', '6003'],
        ['UPAY', '6004'],
        ['TAP', '6005'],
        ['MCASH', '6006'],
        ['OTHERWALLET', '6099'],
        ['IBANKING', '7001'],
      ],
    );
    assert.equal(new Set(INSTRUMENT_CODES.map((c) => c.cardCode)).size, INSTRUMENT_CODES.length);
    assert.equal(Object.keys(INSTRUMENT_CODE_TABLE).length, INSTRUMENT_CODES.length);
    assert.deepEqual(cardCodes('AMEX', 'City Bank'), { label: 'AMEX-City Bank', cardCode: '1003' });
    assert.deepEqual(walletCodes('nagad'), { label: 'NAGAD-Nagad', cardCode: '6002' });
    assert.deepEqual(ibankingCodes('Sandbox Bank'), { label: 'IBANKING-Sandbox Bank', cardCode: '7001' });
  });

  it('the sandbox instruments table lists every section 10 instrument', () => {
    const text = SANDBOX_INSTRUMENTS.map((i) => `${i.instrument} ${i.outcome}`).join('\n');
    for (const n of [
      '4111 1111 1111 1111',
      '5555 5555 5555 4444',
      '3782 822463 10005',
      '4242 4242 4242 4242',
      '4000 0000 0000 0002',
      '4000 0000 0000 9995',
      '4000 0000 0000 0069',
      '4000 0000 0000 0127',
      '4000 0000 0000 3220',
      '4000 0084 0000 1629',
      '4000 0000 0000 0119',
      '4000 0000 0000 5126',
      '9012 3456 7890 1238',
      '01700000001',
      '12121',
      '123456',
      '01700000002',
      'sandbox',
    ]) {
      assert.ok(text.includes(n), n);
    }
  });
});
