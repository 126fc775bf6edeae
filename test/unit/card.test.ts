import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  asciiDigits,
  cardBrand,
  cvvLengthFor,
  expiryInPast,
  luhnValid,
  maskCard,
  maskBankLogin,
  maskWallet,
  normaliseCardNumber,
  normaliseWalletNumber,
  parseExpiry,
  validateCardForm,
} from '../../src/domain/card.js';

// 15 May 2026, 12:00 UTC.
const NOW = Date.UTC(2026, 4, 15, 12);

describe('luhnValid', () => {
  it('accepts the published test numbers', () => {
    for (const n of [
      '4111111111111111',
      '5555555555554444',
      '378282246310005',
      '4242424242424242',
      '4000000000003220',
      '4000008400001629',
      '4000000000005126',
      '9012345678901238',
      '79927398713',
    ]) {
      assert.equal(luhnValid(n), true, n);
    }
  });

  it('refuses a single mistyped digit and a swap of adjacent digits', () => {
    assert.equal(luhnValid('4111111111111112'), false);
    assert.equal(luhnValid('4111111111111121'), false);
    assert.equal(luhnValid('79927398710'), false);
  });

  it('refuses non-digits and empty input', () => {
    assert.equal(luhnValid(''), false);
    assert.equal(luhnValid('0'), false);
    assert.equal(luhnValid('4111 1111 1111 1111'), false);
    assert.equal(luhnValid('abcd'), false);
  });

  it('catches every single-digit error (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{11,18}$/), fc.nat(17), fc.integer({ min: 1, max: 9 }), (body, at, delta) => {
        // complete a valid number, then change one digit
        let check = 0;
        for (let c = 0; c <= 9; c++) if (luhnValid(body + c)) check = c;
        const valid = body + check;
        assert.equal(luhnValid(valid), true);
        const i = at % valid.length;
        const changed = valid.slice(0, i) + ((Number(valid[i]) + delta) % 10) + valid.slice(i + 1);
        assert.equal(luhnValid(changed), false);
      }),
    );
  });
});

describe('normaliseCardNumber', () => {
  it('strips spaces and dashes', () => {
    assert.equal(normaliseCardNumber('4111 1111 1111 1111'), '4111111111111111');
    assert.equal(normaliseCardNumber(' 4111-1111-1111-1111 '), '4111111111111111');
    assert.equal(normaliseCardNumber('3782 822463 10005'), '378282246310005');
    assert.equal(normaliseCardNumber('4111\u00a01111 1111\t1111'), '4111111111111111');
  });

  it('accepts 12 to 19 digits only', () => {
    assert.equal(normaliseCardNumber('1'.repeat(12)), '1'.repeat(12));
    assert.equal(normaliseCardNumber('1'.repeat(19)), '1'.repeat(19));
    assert.equal(normaliseCardNumber('1'.repeat(11)), undefined);
    assert.equal(normaliseCardNumber('1'.repeat(20)), undefined);
    assert.equal(normaliseCardNumber(''), undefined);
  });

  it('refuses other characters', () => {
    assert.equal(normaliseCardNumber('4111.1111.1111.1111'), undefined);
    assert.equal(normaliseCardNumber('4111111111111111a'), undefined);
    assert.equal(normaliseCardNumber('+4111111111111111'), undefined);
  });

  it('reads Bangla digits typed on a Bangla keyboard', () => {
    assert.equal(asciiDigits('০১২৩৪৫৬৭৮৯'), '0123456789');
    assert.equal(normaliseCardNumber('৪১১১ ১১১১ ১১১১ ১১১১'), '4111111111111111');
  });
});

describe('cardBrand', () => {
  it('Visa: 4…, 13/16/19 digits', () => {
    assert.equal(cardBrand('4111111111111111'), 'VISA');
    assert.equal(cardBrand('4222222222222'), 'VISA');
    assert.equal(cardBrand('4111111111111111003'), 'VISA');
    assert.equal(cardBrand('41111111111111'), undefined);
  });

  it('Mastercard: 51–55 and 2221–2720, 16 digits', () => {
    assert.equal(cardBrand('5555555555554444'), 'MASTERCARD');
    assert.equal(cardBrand('5105105105105100'), 'MASTERCARD');
    assert.equal(cardBrand('2221000000000009'), 'MASTERCARD');
    assert.equal(cardBrand('2720990000000000'), 'MASTERCARD');
    assert.equal(cardBrand('2220990000000000'), undefined);
    assert.equal(cardBrand('2721000000000000'), undefined);
    assert.equal(cardBrand('5000000000000000'), undefined);
    assert.equal(cardBrand('5600000000000000'), undefined);
    assert.equal(cardBrand('555555555555444'), undefined);
  });

  it('Amex: 34/37, 15 digits', () => {
    assert.equal(cardBrand('378282246310005'), 'AMEX');
    assert.equal(cardBrand('371449635398431'), 'AMEX');
    assert.equal(cardBrand('340000000000009'), 'AMEX');
    assert.equal(cardBrand('3782822463100050'), undefined);
    assert.equal(cardBrand('360000000000000'), undefined);
  });

  it('DBBL Nexus: 16 digits starting with 9', () => {
    assert.equal(cardBrand('9012345678901238'), 'NEXUS');
    assert.equal(cardBrand('901234567890123'), undefined);
  });

  it('unknown schemes and non-digits', () => {
    assert.equal(cardBrand('6011111111111117'), undefined);
    assert.equal(cardBrand('3530111333300000'), undefined);
    assert.equal(cardBrand('4111 1111 1111 1111'), undefined);
    assert.equal(cardBrand(''), undefined);
  });
});

describe('cvvLengthFor', () => {
  it('is 4 for Amex and 3 otherwise', () => {
    assert.equal(cvvLengthFor('AMEX'), 4);
    assert.equal(cvvLengthFor('VISA'), 3);
    assert.equal(cvvLengthFor('MASTERCARD'), 3);
    assert.equal(cvvLengthFor('NEXUS'), 3);
  });
});

describe('parseExpiry', () => {
  it('accepts MM/YY, MM / YY, MMYY, MM/YYYY', () => {
    assert.deepEqual(parseExpiry('05/26'), { month: 5, year: 2026 });
    assert.deepEqual(parseExpiry('05 / 26'), { month: 5, year: 2026 });
    assert.deepEqual(parseExpiry('0526'), { month: 5, year: 2026 });
    assert.deepEqual(parseExpiry('05/2026'), { month: 5, year: 2026 });
    assert.deepEqual(parseExpiry(' 12/30 '), { month: 12, year: 2030 });
  });

  it('also takes a one-digit month, a dash and MMYYYY', () => {
    assert.deepEqual(parseExpiry('5/26'), { month: 5, year: 2026 });
    assert.deepEqual(parseExpiry('05-26'), { month: 5, year: 2026 });
    assert.deepEqual(parseExpiry('052026'), { month: 5, year: 2026 });
  });

  it('two-digit years are 20YY', () => {
    assert.deepEqual(parseExpiry('01/00'), { month: 1, year: 2000 });
    assert.deepEqual(parseExpiry('01/99'), { month: 1, year: 2099 });
  });

  it('refuses anything else', () => {
    for (const bad of ['', '13/26', '00/26', '5/2', '05/202', '052', '05262', 'ab/cd', '05//26', '05/26/27', '-1/26']) {
      assert.equal(parseExpiry(bad), undefined, bad);
    }
  });
});

describe('expiryInPast', () => {
  it('a card is valid through the end of its expiry month', () => {
    assert.equal(expiryInPast({ month: 5, year: 2026 }, NOW), false);
    assert.equal(expiryInPast({ month: 5, year: 2026 }, Date.UTC(2026, 4, 31, 23, 59, 59, 999)), false);
    assert.equal(expiryInPast({ month: 5, year: 2026 }, Date.UTC(2026, 5, 1)), true);
  });

  it('last month and last year are past; later is not', () => {
    assert.equal(expiryInPast({ month: 4, year: 2026 }, NOW), true);
    assert.equal(expiryInPast({ month: 12, year: 2025 }, NOW), true);
    assert.equal(expiryInPast({ month: 6, year: 2026 }, NOW), false);
    assert.equal(expiryInPast({ month: 1, year: 2027 }, NOW), false);
  });

  it('December to January across the year boundary', () => {
    assert.equal(expiryInPast({ month: 12, year: 2026 }, Date.UTC(2026, 11, 31, 23)), false);
    assert.equal(expiryInPast({ month: 12, year: 2026 }, Date.UTC(2027, 0, 1)), true);
  });
});

describe('maskCard', () => {
  it('keeps the first 6 and the last 4', () => {
    assert.equal(maskCard('4111111111111111'), '411111******1111');
    assert.equal(maskCard('378282246310005'), '378282*****0005');
    assert.equal(maskCard('4222222222222'), '422222***2222');
    assert.equal(maskCard('4111111111111111003'), '411111*********1003');
  });

  it('never shows more than 10 digits, whatever the input', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{0,19}$/), (d) => {
        const m = maskCard(d);
        assert.equal(m.length, d.length);
        assert.ok(m.replace(/\*/g, '').length <= Math.min(10, d.length));
      }),
    );
  });
});

describe('validateCardForm', () => {
  const good = { number: '4111 1111 1111 1111', expiry: '12/30', cvv: '123', name: 'Rahim Uddin' };

  it('returns the card when every field is right', () => {
    assert.deepEqual(validateCardForm(good, NOW), {
      ok: true,
      card: {
        digits: '4111111111111111',
        brand: 'VISA',
        expMonth: 12,
        expYear: 2030,
        cvv: '123',
        holder: 'Rahim Uddin',
      },
    });
  });

  it('Amex with a 4-digit CVV', () => {
    const r = validateCardForm({ ...good, number: '3782 822463 10005', cvv: '1234' }, NOW);
    assert.equal(r.ok, true);
    assert.equal(r.ok && r.card.brand, 'AMEX');
  });

  it('the current month is still valid', () => {
    assert.equal(validateCardForm({ ...good, expiry: '05/26' }, NOW).ok, true);
  });

  it('reports every field at once', () => {
    assert.deepEqual(validateCardForm({}, NOW), {
      ok: false,
      errors: { number: 'required', expiry: 'required', cvv: 'required', name: 'required' },
    });
    assert.deepEqual(validateCardForm({ number: ' ', expiry: ' ', cvv: ' ', name: ' ' }, NOW), {
      ok: false,
      errors: { number: 'required', expiry: 'required', cvv: 'required', name: 'required' },
    });
  });

  const numberError = (number: string) => {
    const r = validateCardForm({ ...good, number }, NOW);
    return r.ok ? undefined : r.errors.number;
  };

  it('number: luhn, unknown brand, length, format', () => {
    assert.equal(numberError('4111 1111 1111 1112'), 'luhn');
    assert.equal(numberError('6011 1111 1111 1117'), 'unknown_brand');
    assert.equal(numberError('1234 5678 1234 5670'), 'unknown_brand');
    assert.equal(numberError('4111 1111 1111 11'), 'length');
    assert.equal(numberError('4111 1111 111'), 'length');
    assert.equal(numberError('3782 8224 6310 0050'), 'length');
    assert.equal(numberError('4111 1111 1111 111x'), 'format');
    assert.equal(numberError('4111/1111/1111/1111'), 'format');
    assert.equal(numberError('9012 3456 7890 1238'), undefined);
    assert.equal(numberError('2221 0000 0000 0009'), undefined);
  });

  const expiryError = (expiry: string) => {
    const r = validateCardForm({ ...good, expiry }, NOW);
    return r.ok ? undefined : r.errors.expiry;
  };

  it('expiry: past, format', () => {
    assert.equal(expiryError('04/26'), 'past');
    assert.equal(expiryError('12/2025'), 'past');
    assert.equal(expiryError('13/26'), 'format');
    assert.equal(expiryError('next year'), 'format');
    assert.equal(expiryError('0626'), undefined);
  });

  const cvvError = (number: string, cvv: string) => {
    const r = validateCardForm({ ...good, number, cvv }, NOW);
    return r.ok ? undefined : r.errors.cvv;
  };

  it('cvv: length by brand, digits only', () => {
    assert.equal(cvvError('378282246310005', '123'), 'length');
    assert.equal(cvvError('4111111111111111', '1234'), 'length');
    assert.equal(cvvError('4111111111111111', '12'), 'length');
    assert.equal(cvvError('4111111111111111', '12a'), 'format');
    assert.equal(cvvError('4111111111111111', ' 123 '), undefined);
    // with a wrong number, 3 or 4 digits pass so only the number is flagged
    assert.equal(cvvError('1234', '1234'), undefined);
    assert.equal(cvvError('1234', '12345'), 'length');
  });

  it('name: required, at most 64 characters, Bangla welcome, spaces collapsed', () => {
    const nameOf = (name: string) => {
      const r = validateCardForm({ ...good, name }, NOW);
      return r.ok ? r.card.holder : r.errors.name;
    };
    assert.equal(nameOf('A'.repeat(64)), 'A'.repeat(64));
    assert.equal(nameOf('A'.repeat(65)), 'length');
    assert.equal(nameOf('আ'.repeat(64)), 'আ'.repeat(64));
    assert.equal(nameOf('রহিম উদ্দিন'), 'রহিম উদ্দিন');
    assert.equal(nameOf('  Rahim    Uddin  '), 'Rahim Uddin');
    assert.equal(nameOf('Rahim\u0000Uddin'), 'format');
    // a holder name that happens to spell an error code is still a name
    assert.equal(nameOf('format'), 'format');
    assert.equal(validateCardForm({ ...good, name: 'required' }, NOW).ok, true);
  });
});

describe('mobile wallet numbers', () => {
  it('normalises the local and international forms to 11 digits', () => {
    assert.equal(normaliseWalletNumber('01700000001'), '01700000001');
    assert.equal(normaliseWalletNumber('+8801700000001'), '01700000001');
    assert.equal(normaliseWalletNumber('8801700000001'), '01700000001');
    assert.equal(normaliseWalletNumber('+880 1700-000001'), '01700000001');
    assert.equal(normaliseWalletNumber(' 01911 234567 '), '01911234567');
    assert.equal(normaliseWalletNumber('০১৭০০০০০০০১'), '01700000001');
  });

  it('operators 013–019 only, exactly 11 digits', () => {
    for (const p of ['3', '4', '5', '6', '7', '8', '9'])
      assert.equal(normaliseWalletNumber(`01${p}00000001`), `01${p}00000001`);
    for (const bad of [
      '01200000001',
      '01000000001',
      '0170000000',
      '017000000012',
      '1700000001',
      '+881700000001',
      '',
      'abc',
    ]) {
      assert.equal(normaliseWalletNumber(bad), undefined, bad);
    }
  });

  it('masks all but the operator prefix and the last 4', () => {
    assert.equal(maskWallet('01700000001'), '017****0001');
    assert.equal(maskWallet('01911234567'), '019****4567');
  });

  it('masks an internet-banking login to its first two characters, hiding its length', () => {
    assert.equal(maskBankLogin('sandbox'), 'sa******');
    assert.equal(maskBankLogin(' rahim.uddin.1982 '), 'ra******');
    assert.equal(maskBankLogin('abcd'), '******'); // too short to show any of it
    assert.equal(maskBankLogin('রহিমউদ্দিন'), 'রহ******');
  });
});
