/**
 * SSLCommerz verify_sign / verify_sign_sha2 (src/acquirers/sslcommerz/verify-sign.ts) against the
 * official test vector: the VALID sample in sslcommerz/SSLCommerz-Python's README (also its test.py),
 * research notes §4.3.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signSslcommerzFields, verifySslcommerzSign } from '../../src/acquirers/sslcommerz/verify-sign.js';

const PASSWORD = 'test_testemi@ssl';
const FIELDS: Record<string, string> = {
  amount: '10.00',
  bank_tran_id: '200105225825DBgSoRGLvczhFjj',
  base_fair: '0.00',
  card_brand: 'VISA',
  card_issuer: 'TRUST BANK, LTD.',
  card_issuer_country: 'Bangladesh',
  card_issuer_country_code: 'BD',
  card_no: '418117XXXXXX6675',
  card_type: 'VISA-Dutch Bangla',
  currency: 'BDT',
  currency_amount: '10.00',
  currency_rate: '1.0000',
  currency_type: 'BDT',
  risk_level: '0',
  risk_title: 'Safe',
  status: 'VALID',
  store_amount: '9.75',
  store_id: 'test_testemi',
  tran_date: '2020-01-05 22:58:21',
  tran_id: '5E121A0D01F92',
  val_id: '200105225826116qFnATY9sHIwo',
  value_a: '',
  value_b: '',
  value_c: '',
  value_d: '',
};
const VERIFY_KEY =
  'amount,bank_tran_id,base_fair,card_brand,card_issuer,card_issuer_country,card_issuer_country_code,card_no,card_type,currency,currency_amount,currency_rate,currency_type,risk_level,risk_title,status,store_amount,store_id,tran_date,tran_id,val_id,value_a,value_b,value_c,value_d';
const MD5 = 'd42fab70ae0bcbda5280e7baffef60b0';
const SHA2 = '02c0417ff467c109006382d56eedccecd68382e47245266e7b47abbb3d43976e';

const sample = (): Record<string, string> => ({ ...FIELDS, verify_key: VERIFY_KEY, verify_sign: MD5 });

describe('SSLCommerz verify_sign', () => {
  it('signs the official sample to its verify_key, verify_sign and verify_sign_sha2', () => {
    const signed = signSslcommerzFields(FIELDS, PASSWORD);
    assert.equal(signed.verify_key, VERIFY_KEY);
    assert.equal(signed.verify_sign, MD5);
    assert.equal(signed.verify_sign_sha2, SHA2);
    // The data fields are posted unchanged.
    for (const [k, v] of Object.entries(FIELDS)) assert.equal(signed[k], v);
  });

  it('ignores signature fields already present when signing (re-signing is stable)', () => {
    const again = signSslcommerzFields({ ...signSslcommerzFields(FIELDS, PASSWORD) }, PASSWORD);
    assert.equal(again.verify_key, VERIFY_KEY);
    assert.equal(again.verify_sign, MD5);
  });

  it('verifies the official sample, and fields outside verify_key do not matter', () => {
    assert.equal(verifySslcommerzSign(sample(), PASSWORD), true);
    assert.equal(verifySslcommerzSign({ ...sample(), subscription_id: 'x', verify_sign_sha2: SHA2 }, PASSWORD), true);
  });

  it('refuses a wrong password, a changed value, a missing signature or a listed key that is absent', () => {
    assert.equal(verifySslcommerzSign(sample(), 'qwerty'), false);
    assert.equal(verifySslcommerzSign({ ...sample(), amount: '1000.00' }, PASSWORD), false);
    assert.equal(verifySslcommerzSign({ ...sample(), value_a: ' ' }, PASSWORD), false);
    const { verify_sign: _s, ...noSign } = sample();
    assert.equal(verifySslcommerzSign(noSign, PASSWORD), false);
    const { verify_key: _k, ...noKey } = sample();
    assert.equal(verifySslcommerzSign(noKey, PASSWORD), false);
    const { value_d: _d, ...noValueD } = sample();
    assert.equal(verifySslcommerzSign(noValueD, PASSWORD), false);
    assert.equal(verifySslcommerzSign({ ...sample(), verify_sign: MD5.toUpperCase() }, PASSWORD), false);
    assert.equal(verifySslcommerzSign({ ...sample(), verify_sign: MD5.slice(1) }, PASSWORD), false);
    assert.equal(verifySslcommerzSign({ ...sample(), verify_key: '' }, PASSWORD), false);
  });

  it('a form cannot smuggle its own store_passwd through verify_key', () => {
    const forged = signSslcommerzFields({ tran_id: 'T1' }, 'attacker');
    const listed = { ...forged, verify_key: 'store_passwd,tran_id', store_passwd: 'x' };
    assert.equal(verifySslcommerzSign(listed, PASSWORD), false);
  });
});
