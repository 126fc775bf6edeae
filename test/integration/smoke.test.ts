import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkPayment, dialects, initPayment, startGateway, type TestGateway } from '../support/harness.js';

for (const dialect of dialects()) {
  describe(`smoke: init then check (${dialect})`, () => {
    let t: TestGateway;
    before(async () => {
      t = await startGateway(dialect);
    });
    after(() => t.close());

    it('a token from init is found by check-payment, unpaid', async () => {
      const c = await t.createMerchant();
      const init = await initPayment(t, c);
      assert.equal(init.json.statusCode, '1000');
      const check = await checkPayment(t, c, init.json.token as string);
      assert.equal(check.json.txn_status, null);
      assert.equal(check.json.statusCode, 1008);
      assert.equal(check.json.merchant_amount_bdt, '10.00');
    });
  });
}
