/**
 * PROTOCOL.md section 7, the money fields: conversion at the rate locked at init, half-up rounding to
 * 2 decimals, the fee (merchant_amount_bdt × service_ratio / 100), the EMI surcharge and
 * bank_amount_bdt. Expected values are computed here with BigInt, independently of src/domain/money.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IssuedCredentials } from '../../src/app/merchant-admin.js';
import { credFields, dialects, initFields, startGateway, type TestGateway } from '../support/harness.js';
import {
  assertError,
  assertInitOk,
  assertRecord,
  fmtMinor,
  halfUp,
  postUrlencoded,
  toMinor,
  type CheckRecord,
} from './protocol-helpers.js';

const RATE_SCALE = 1_000_000n; // rate_scaled = rate × 10^6
const CARD_FEE_BPS = 250n; // the default card fee, 2.50 %
const EMI_6_BPS = 450n; // 6-month EMI surcharge, 4.50 %
const USD_RATE = 121_456_700n; // 121.4567
const EMI_6 = '{"emi_period":"6","emi_selected_bank":"dbbl"}';

interface Expected {
  req: string;
  rate: string;
  bdt: bigint;
  emiBps: bigint;
}

/** Asserts every money field of a record against values computed from first principles. */
function assertMoney(r: CheckRecord, e: Expected): void {
  const fee = halfUp(e.bdt, CARD_FEE_BPS, 10_000n);
  const emi = halfUp(e.bdt, e.emiBps, 10_000n);
  assert.equal(r.merchant_req_amount, e.req, 'merchant_req_amount');
  assert.equal(r.conversion_rate, e.rate, 'conversion_rate');
  assert.equal(r.merchant_amount_bdt, fmtMinor(e.bdt), 'merchant_amount_bdt');
  assert.equal(r.service_ratio, '2.50', 'service_ratio');
  assert.equal(r.wmx_charge_bdt, fmtMinor(fee), 'wmx_charge_bdt');
  assert.equal(r.emi_ratio, fmtMinor(e.emiBps), 'emi_ratio');
  assert.equal(r.emi_charge, fmtMinor(emi), 'emi_charge');
  assert.equal(r.discount_bdt, '0.00', 'discount_bdt');
  assert.equal(r.bank_amount_bdt, fmtMinor(e.bdt + emi), 'bank_amount_bdt');
  for (const f of [
    'merchant_req_amount',
    'merchant_amount_bdt',
    'wmx_charge_bdt',
    'emi_ratio',
    'emi_charge',
    'discount_bdt',
    'bank_amount_bdt',
  ] as const) {
    assert.match(r[f] as string, /^\d+\.\d{2}$/, `${f} has exactly 2 decimals`);
  }
}

for (const dialect of dialects()) {
  describe(`protocol: amounts, conversion, fees and EMI (${dialect})`, () => {
    let t: TestGateway;
    let emi: IssuedCredentials;
    let noEmi: IssuedCredentials;

    async function pay(m: IssuedCredentials, overrides: Record<string, string | undefined>): Promise<CheckRecord> {
      const token = assertInitOk(await postUrlencoded(`${t.url}/init-payment-process`, initFields(m, overrides)));
      return assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(m), token }));
    }
    async function setRate(currency: string, scaled: bigint): Promise<void> {
      await t.gw.referenceRepo.setRate(currency, scaled);
      await t.gw.reference.refresh();
    }

    before(async () => {
      t = await startGateway(dialect);
      emi = await t.createMerchant({ name: 'Emi Shop', emiAllowed: true });
      noEmi = await t.createMerchant({ name: 'Plain Shop', emiAllowed: false });
      await setRate('USD', 1214567n * 100n);
    });
    after(() => t?.close());

    it('BDT: the amount is the BDT amount; the fee is 2.50 % rounded half-up', async () => {
      for (const amount of ['0.01', '0.02', '0.20', '0.60', '1', '10.05', '48.78', '1234.5', '999999.99']) {
        const r = await pay(emi, { amount, currency: 'BDT' });
        assertMoney(r, { req: fmtMinor(toMinor(amount)), rate: '1.00', bdt: toMinor(amount), emiBps: 0n });
      }
    });

    it('BDT fee rounding at the boundaries, as literal values', async () => {
      assert.equal((await pay(emi, { amount: '0.01' })).wmx_charge_bdt, '0.00'); // 0.00025
      assert.equal((await pay(emi, { amount: '0.20' })).wmx_charge_bdt, '0.01'); // 0.005 → half-up
      assert.equal((await pay(emi, { amount: '0.60' })).wmx_charge_bdt, '0.02'); // 0.015 → half-up (half-even would say 0.02 too)
      assert.equal((await pay(emi, { amount: '1.00' })).wmx_charge_bdt, '0.03'); // 0.025 → half-up (half-even: 0.02)
      const max = await pay(emi, { amount: '999999.99' });
      assert.equal(max.merchant_amount_bdt, '999999.99');
      assert.equal(max.wmx_charge_bdt, '25000.00'); // 24999.99975
    });

    it('at most 2 decimals: 10.005 → 2005', async () => {
      assertError(
        await postUrlencoded(`${t.url}/init-payment-process`, initFields(emi, { amount: '10.005' })),
        '2005',
        'amount',
      );
    });

    it('zeros after 2 decimals change nothing: 510.0000 (.NET decimal text) is 510.00, 10.500 is 10.50', async () => {
      for (const [amount, expected] of [
        ['510.0000', '510.00'],
        ['10.500', '10.50'],
        ['0.010', '0.01'],
      ] as const) {
        const res = await postUrlencoded(`${t.url}/init-payment-process`, initFields(emi, { amount }));
        const token = assertInitOk(res);
        const r = assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(emi), token }));
        assert.equal(r.merchant_req_amount, expected, amount);
        assert.equal(r.merchant_amount_bdt, expected, amount);
      }
      // Still refused: a third significant decimal.
      for (const amount of ['10.0050', '1.001']) {
        assertError(
          await postUrlencoded(`${t.url}/init-payment-process`, initFields(emi, { amount })),
          '2005',
          'amount',
        );
      }
    });

    it('USD at a 4-decimal rate: conversion half-up to 2 decimals, conversion_rate "121.4567"', async () => {
      for (const amount of ['0.01', '1', '10.05', '50', '99.99', '150', '7777.77']) {
        const r = await pay(emi, { amount, currency: 'USD' });
        assert.equal(r.merchant_currency, 'USD');
        assertMoney(r, {
          req: fmtMinor(toMinor(amount)),
          rate: '121.4567',
          bdt: halfUp(toMinor(amount), USD_RATE, RATE_SCALE),
          emiBps: 0n,
        });
      }
    });

    it('USD conversion rounding, as literal values', async () => {
      const one = await pay(emi, { amount: '1', currency: 'USD' });
      assert.equal(one.merchant_amount_bdt, '121.46'); // 121.4567
      // 150 × 121.4567 = 18218.505 exactly: half-up gives .51 (half-even would give .50).
      const r = await pay(emi, { amount: '150', currency: 'USD' });
      assert.equal(r.merchant_req_amount, '150.00');
      assert.equal(r.merchant_amount_bdt, '18218.51');
      assert.equal(r.wmx_charge_bdt, '455.46'); // 455.46275
      assert.equal(r.bank_amount_bdt, '18218.51');
    });

    it('conversion_rate shows the rate with at least 2 decimals and no float noise', async () => {
      await setRate('EUR', 133_123_456n);
      await setRate('GBP', 155_200_000n);
      const eur = await pay(emi, { amount: '3.33', currency: 'EUR' });
      assert.equal(eur.conversion_rate, '133.123456');
      assert.equal(eur.merchant_amount_bdt, fmtMinor(halfUp(333n, 133_123_456n, RATE_SCALE)));
      assert.equal(eur.merchant_amount_bdt, '443.30'); // 443.30110848
      const gbp = await pay(emi, { amount: '2', currency: 'gbp' });
      assert.equal(gbp.conversion_rate, '155.20');
      assert.equal(gbp.merchant_amount_bdt, '310.40');
    });

    it('the rate is locked at init: a later rate change does not alter an existing payment', async () => {
      const token = assertInitOk(
        await postUrlencoded(`${t.url}/init-payment-process`, initFields(emi, { amount: '10.05', currency: 'USD' })),
      );
      const before = assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(emi), token }));
      await setRate('USD', 130_000_000n);
      try {
        const afterChange = assertRecord(await postUrlencoded(`${t.url}/check-payment`, { ...credFields(emi), token }));
        assert.equal(afterChange.conversion_rate, '121.4567');
        assert.equal(afterChange.merchant_amount_bdt, fmtMinor(halfUp(1005n, USD_RATE, RATE_SCALE)));
        assert.deepEqual(afterChange, before);
        const fresh = await pay(emi, { amount: '10.05', currency: 'USD' });
        assert.equal(fresh.conversion_rate, '130.00');
        assert.equal(fresh.merchant_amount_bdt, '1306.50');
      } finally {
        await setRate('USD', USD_RATE);
      }
    });

    it('EMI (6 months) for an EMI-allowed merchant: emi_ratio "4.50", charge half-up, added to bank_amount_bdt', async () => {
      for (const amount of ['1.00', '3', '100.10', '1000', '999999.99']) {
        const r = await pay(emi, { amount, extra_json: EMI_6 });
        assertMoney(r, {
          req: fmtMinor(toMinor(amount)),
          rate: '1.00',
          bdt: toMinor(amount),
          emiBps: EMI_6_BPS,
        });
        assert.equal(r.extra_json, EMI_6);
        // The official verification still holds: the customer paid at least the amount.
        assert.ok(toMinor(r.bank_amount_bdt as string) >= toMinor(amount));
        assert.equal(r.merchant_amount_bdt, fmtMinor(toMinor(amount)));
      }
      const one = await pay(emi, { amount: '1.00', extra_json: EMI_6 });
      assert.equal(one.emi_charge, '0.05'); // 0.045 → half-up
      assert.equal(one.bank_amount_bdt, '1.05');
      assert.equal(one.wmx_charge_bdt, '0.03'); // the fee is on merchant_amount_bdt, not on the EMI total
    });

    it('EMI on a converted amount is charged on the BDT amount', async () => {
      const r = await pay(emi, { amount: '150', currency: 'USD', extra_json: EMI_6 });
      assertMoney(r, { req: '150.00', rate: '121.4567', bdt: 1_821_851n, emiBps: EMI_6_BPS });
      assert.equal(r.emi_charge, '819.83'); // 18218.51 × 4.5 % = 819.83295
      assert.equal(r.bank_amount_bdt, '19038.34');
    });

    it('emi_period given as a JSON number works too; an unknown period or no EMI keys means no EMI', async () => {
      assert.equal((await pay(emi, { amount: '100', extra_json: '{"emi_period":6}' })).emi_ratio, '4.50');
      for (const extra_json of [
        '{"emi_period":"5","emi_selected_bank":"dbbl"}',
        '[]',
        '{"emi_selected_bank":"dbbl"}',
        'junk',
      ]) {
        const r = await pay(emi, { amount: '100', extra_json });
        assertMoney(r, { req: '100.00', rate: '1.00', bdt: 10_000n, emiBps: 0n });
      }
    });

    it('a merchant without EMI: emi_ratio and emi_charge "0.00", bank_amount_bdt = merchant_amount_bdt', async () => {
      const r = await pay(noEmi, { amount: '1000', extra_json: EMI_6 });
      assertMoney(r, { req: '1000.00', rate: '1.00', bdt: 100_000n, emiBps: 0n });
      assert.equal(r.emi_ratio, '0.00');
      assert.equal(r.emi_charge, '0.00');
      assert.equal(r.bank_amount_bdt, '1000.00');
      assert.equal(r.extra_json, EMI_6); // still kept exactly
    });
  });
}
