/**
 * How wmx doctor reads a callback handler's answer: HTTP 4xx/5xx is refused; otherwise the answer
 * is compared with the handler's own answers to a declined and to a genuine callback, then read for
 * words; what none of that settles is "unclear" (never guessed as safe).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, type HandlerAnswer } from '../../src/app/doctor.js';

const a = (status: number | null, excerpt = '', location: string | null = null): HandlerAnswer => ({
  status,
  location,
  excerpt,
  error: status === null ? 'timeout' : null,
  latencyMs: 1,
});

describe('wmx doctor: reading a handler answer', () => {
  it('a 4xx or 5xx is refused, no answer is unclear', () => {
    assert.equal(classify(a(400, 'Thank you!'), {}), 'refused');
    assert.equal(classify(a(502), {}), 'refused');
    assert.equal(classify(a(null), {}), 'unclear');
  });

  it('redirects are told apart by where they lead, query aside', () => {
    const refs = { accepted: a(303, '', '/thank-you?order=A-1'), refused: a(303, '', '/payment-failed?order=A-1') };
    assert.equal(classify(a(303, '', '/thank-you?order=A-2'), refs), 'accepted');
    assert.equal(classify(a(303, '', '/payment-failed?order=A-2'), refs), 'refused');
  });

  it('pages that differ only by ids and amounts are the same answer', () => {
    const refs = {
      accepted: a(200, '<p>Order A-1 (450.00 BDT) is on its way</p>'),
      refused: a(200, '<p>We could not take your payment</p>'),
    };
    const forged = a(200, '<p>Order Z-99 (1.00 BDT) is on its way</p>');
    assert.equal(classify(forged, refs, ['A-1', 'Z-99']), 'accepted');
  });

  it('words decide when the references do not', () => {
    assert.equal(classify(a(200, '{"status":"error","reason":"amount mismatch"}'), {}), 'refused');
    assert.equal(classify(a(200, 'Payment unsuccessful'), {}), 'refused');
    assert.equal(classify(a(200, 'Payment successful, thank you'), {}), 'accepted');
    assert.equal(classify(a(200, '<h1>Not paid</h1>'), {}), 'refused', '"not paid" is not "paid"');
  });

  it('a handler answering the same to everything is unclear, not safe', () => {
    const same = a(200, 'OK');
    assert.equal(classify(a(200, 'OK'), { accepted: same, refused: same }), 'unclear');
  });

  it('with no words, the status tells when the references differ by it', () => {
    const refs = { accepted: a(200, 'x'), refused: a(202, 'y') };
    assert.equal(classify(a(200, 'z'), refs), 'accepted');
    assert.equal(classify(a(202, 'w'), refs), 'refused');
  });
});
