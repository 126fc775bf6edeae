import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseProductDesc } from '../../src/domain/product-desc.js';

describe('parseProductDesc: the official grammar', () => {
  it('one item', () => {
    assert.deepEqual(parseProductDesc('{2xItem A[5]=[10]}+{shipping rate:0}-{discount amount:0}=10.00'), {
      items: [{ quantity: 2, name: 'Item A', unitPrice: '5.00', lineTotal: '10.00' }],
      shipping: '0.00',
      discount: '0.00',
      total: '10.00',
      charges: [],
      consistent: true,
    });
  });

  it('several items, shipping and discount', () => {
    const o = parseProductDesc(
      '{2xItem A[5]=[10]}+{1xBook B[20.50]=[20.50]}+{shipping rate:50}-{discount amount:10}=70.50',
    );
    assert.deepEqual(o, {
      items: [
        { quantity: 2, name: 'Item A', unitPrice: '5.00', lineTotal: '10.00' },
        { quantity: 1, name: 'Book B', unitPrice: '20.50', lineTotal: '20.50' },
      ],
      shipping: '50.00',
      discount: '10.00',
      total: '70.50',
      charges: [],
      consistent: true,
    });
  });

  it('tolerates whitespace everywhere', () => {
    const o = parseProductDesc(
      '  { 2 x  Item   A [ 5 ] = [ 10 ] }\n+ { shipping  rate : 0 } - { discount amount : 0 } = 10.00 \n',
    );
    assert.equal(o?.items[0]?.name, 'Item A');
    assert.equal(o?.items[0]?.quantity, 2);
    assert.equal(o?.total, '10.00');
  });

  it('normalises amounts to 2 decimals', () => {
    const o = parseProductDesc('{3xPen[10.5]=[31.5]}+{shipping rate:007}-{discount amount:0.5}=38');
    assert.deepEqual(o?.items[0], { quantity: 3, name: 'Pen', unitPrice: '10.50', lineTotal: '31.50' });
    assert.equal(o?.shipping, '7.00');
    assert.equal(o?.discount, '0.50');
    assert.equal(o?.total, '38.00');
    assert.equal(o?.consistent, true);
  });

  it('rounds float artefacts half-up and reads thousands separators', () => {
    const o = parseProductDesc('{3xGum[0.1]=[0.30000000000000004]}+{shipping rate:0.005}-{discount amount:0}=1,000.00');
    assert.equal(o?.items[0]?.lineTotal, '0.30');
    assert.equal(o?.shipping, '0.01');
    assert.equal(o?.total, '1000.00');
    assert.equal(o?.consistent, false);
  });

  it('item names: Bangla, punctuation, an "x", "=", "+" and ":"', () => {
    const o = parseProductDesc(
      "{1xবই (২য় খণ্ড)[250]=[250]}+{2xT-shirt, size: L / 'blue' = 1+1 & more!?[5]=[10]}+{3xBox x2[1]=[3]}+{shipping rate:60}-{discount amount:0}=323",
    );
    assert.deepEqual(
      o?.items.map((i) => i.name),
      ['বই (২য় খণ্ড)', "T-shirt, size: L / 'blue' = 1+1 & more!?", 'Box x2'],
    );
    assert.equal(o?.consistent, true);
  });

  it('flags arithmetic that does not add up without refusing it', () => {
    assert.equal(parseProductDesc('{2xA[5]=[11]}+{shipping rate:0}-{discount amount:0}=11')?.consistent, false);
    assert.equal(parseProductDesc('{2xA[5]=[10]}+{shipping rate:0}-{discount amount:0}=12')?.consistent, false);
  });
});

describe('parseProductDesc: variants clients send', () => {
  it('space-separated items, " X " and a space before the bracket (Laravel/Angular clients)', () => {
    const o = parseProductDesc(
      '{2 X Adata 8GB Pendrive [800]=[1600]} {1 X A4Tech Mouse [700]=[700]} {shipping rate:40.00}-{discount amount:0.00}=2340.00',
    );
    assert.deepEqual(
      o?.items.map((i) => [i.quantity, i.name, i.unitPrice, i.lineTotal]),
      [
        [2, 'Adata 8GB Pendrive', '800.00', '1600.00'],
        [1, 'A4Tech Mouse', '700.00', '700.00'],
      ],
    );
    assert.equal(o?.consistent, true);
  });

  it('"1 XA4Tech" (no space after the X)', () => {
    assert.equal(parseProductDesc('{1 XA4Tech Mouse [700]=[700]}=700')?.items[0]?.name, 'A4Tech Mouse');
  });

  it('WooCommerce "coupon amount"', () => {
    const o = parseProductDesc('{1xHat[100]=[100]}+{shipping rate:20}-{coupon amount:10}=110.00');
    assert.equal(o?.discount, '10.00');
    assert.equal(o?.consistent, true);
  });

  it('extra charges such as service charge and tax', () => {
    const o = parseProductDesc(
      '{1 X Tea [100]=[100]} {service charge:5} {tax:7.5} {shipping rate:10}-{discount amount:0.00}=122.5',
    );
    assert.deepEqual(o?.charges, [
      { label: 'service charge', amount: '5.00' },
      { label: 'tax', amount: '7.50' },
    ]);
    assert.equal(o?.consistent, true);
  });

  it('shipping and discount may be absent; a currency code may follow the total', () => {
    const o = parseProductDesc('{1xAdd Fund[500]=[500]}=500 BDT');
    assert.equal(o?.shipping, '0.00');
    assert.equal(o?.discount, '0.00');
    assert.equal(o?.total, '500.00');
  });
});

describe('parseProductDesc: not the grammar → undefined', () => {
  const cases: [string, string][] = [
    ['plain text', 'Blue T-shirt, size L'],
    ['empty', ''],
    ['blank', '   '],
    ['no total', '{2xItem A[5]=[10]}+{shipping rate:0}-{discount amount:0}'],
    ['empty total', '{2xItem A[5]=[10]}='],
    ['total not a number', '{2xItem A[5]=[10]}=ten'],
    ['text after the total', '{2xItem A[5]=[10]}=10.00 thanks'],
    ['brace after the total', '{2xItem A[5]=[10]}=10.00}'],
    ['no quantity', '{Item A[5]=[10]}=10'],
    ['empty name', '{2x[5]=[10]}=10'],
    ['blank name', '{2x   [5]=[10]}=10'],
    ['negative price', '{2xItem A[-5]=[-10]}=10'],
    ['price not a number', '{2xItem A[five]=[10]}=10'],
    ['missing line total', '{2xItem A[5]}=10'],
    ['bracket in the name', '{2xItem [A][5]=[10]}=10'],
    ['closing bracket in the name', '{2xItem A][5]=[10]}=10'],
    ['nested braces', '{2x{Item}[5]=[10]}=10'],
    ['unclosed brace', '{2xItem A[5]=[10]=10'],
    ['no items', '{shipping rate:0}-{discount amount:0}=0'],
    ['segments glued together', '{2xA[5]=[10]}{1xB[1]=[1]}=11'],
    ['item after shipping', '{shipping rate:0}+{2xA[5]=[10]}=10'],
    ['shipping twice', '{2xA[5]=[10]}+{shipping rate:1}+{shipping rate:1}=12'],
    ['discount with "+"', '{2xA[5]=[10]}+{discount amount:1}=9'],
    ['shipping with "-"', '{2xA[5]=[10]}-{shipping rate:1}=9'],
    ['something after the discount', '{2xA[5]=[10]}-{discount amount:1}+{shipping rate:1}=10'],
    ['item with "-"', '{2xA[5]=[10]}-{1xB[1]=[1]}=9'],
    ['a label without an amount', '{2xA[5]=[10]}+{note:hello}=10'],
    ['junk between segments', '{2xA[5]=[10]} and {1xB[1]=[1]}=11'],
    ['leading junk', 'Order: {2xA[5]=[10]}=10'],
    ['too many decimals of digits', `{2xA[5.${'1'.repeat(30)}]=[10]}=10`],
  ];
  for (const [why, text] of cases) {
    it(why, () => assert.equal(parseProductDesc(text), undefined));
  }

  it('a non-string from an untyped caller', () => {
    assert.equal(parseProductDesc(undefined as unknown as string), undefined); // callers outside TypeScript
  });
});

describe('parseProductDesc: hostile input returns (linear scan)', () => {
  const N = 4096;
  const hostile: [string, string][] = [
    ['opening braces', '{'.repeat(N)],
    ['closing braces', '}'.repeat(N)],
    ['brackets', '['.repeat(N)],
    ['braces and brackets', '{['.repeat(N / 2)],
    ['spaces', ' '.repeat(N)],
    ['one long name', '{1x' + 'a'.repeat(N - 4) + '}'],
    ['long name, no brace', '{1x' + 'a'.repeat(N - 3)],
    ['long whitespace name', '{1x' + ' '.repeat(N - 20) + 'a[1]=[1]}=1'],
    ['long whitespace before a bracket', '{1xa' + ' '.repeat(N - 20) + '[1]=[1]}=1'],
    ['long digits', '{1xa[' + '1'.repeat(N - 6) + ']'],
    ['long digits with dots', '{1xa[' + '1.'.repeat(N / 2 - 3) + ']=[1]}=1'],
    ['long quantity', '{' + '9'.repeat(N - 2) + 'x}'],
    ['long quantity with spaces', '{' + '1 '.repeat(N / 2 - 1) + '}'],
    ['many items, no total', '{1xa[1]=[1]}+'.repeat(Math.floor(N / 13))],
    ['many items then junk', '{1xa[1]=[1]} '.repeat(Math.floor(N / 13)) + '{'],
    ['many labelled segments', '{a:1}+'.repeat(Math.floor(N / 6))],
    ['colons', '{' + ':'.repeat(N - 2) + '}'],
    ['equals', '='.repeat(N)],
    ['digits after equals', '{1xa[1]=[1]}=' + '1'.repeat(N - 13)],
    ['commas after equals', '{1xa[1]=[1]}=' + '1,'.repeat((N - 13) / 2)],
    ['plus signs', '{1xa[1]=[1]}' + '+'.repeat(N - 12)],
    ['Bangla', 'আ'.repeat(N)],
  ];
  for (const [why, text] of hostile) {
    it(why, () => {
      const r = parseProductDesc(text);
      assert.ok(r === undefined || typeof r === 'object');
    });
  }

  it('a valid order near the size limit parses', () => {
    const item = '{1xa[1]=[1]}+';
    const count = Math.floor((N - 60) / item.length);
    const text = item.repeat(count) + `{shipping rate:0}-{discount amount:0}=${count}`;
    assert.ok(text.length <= N);
    const o = parseProductDesc(text);
    assert.equal(o?.items.length, count);
    assert.equal(o?.consistent, true);
  });

  it('never throws on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'{}[]+-=:x1. aআ৫,X'.split('')), maxLength: 200 }), (s) => {
        const r = parseProductDesc(s);
        assert.ok(r === undefined || Array.isArray(r.items));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => {
        parseProductDesc(s);
      }),
    );
  });

  it('round-trips generated official-class orders (property)', () => {
    const name = fc
      .string({ unit: fc.constantFrom(...'abc XYZ-,.:()/&আবক'.split('')), minLength: 1, maxLength: 20 })
      .filter((s) => s.trim() !== '');
    const item = fc.record({
      qty: fc.integer({ min: 1, max: 99 }),
      name,
      price: fc.integer({ min: 0, max: 1_000_000 }),
    });
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 8 }), fc.nat(10_000), (items, ship) => {
        const money = (minor: number) => (minor / 100).toFixed(2);
        let sum = ship;
        let text = '';
        for (const it of items) {
          sum += it.qty * it.price;
          text += `{${it.qty}x${it.name}[${money(it.price)}]=[${money(it.qty * it.price)}]}+`;
        }
        text += `{shipping rate:${money(ship)}}-{discount amount:0}=${money(sum)}`;
        const o = parseProductDesc(text);
        assert.ok(o, text);
        assert.deepEqual(
          o.items.map((i) => [i.quantity, i.name]),
          items.map((i) => [i.qty, i.name.trim().replace(/\s+/g, ' ')]),
        );
        assert.equal(o.total, money(sum));
        assert.equal(o.consistent, true);
      }),
    );
  });
});
