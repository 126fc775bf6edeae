/**
 * The bodies the SSLCommerz simulator sends: the signed form of the IPN and browser return, the
 * validation answer and the query answers. Field sets, names and string/number types as the research
 * notes record them from real payloads and the doc tables (§3, §4.4, §5, §6).
 */
import { formatMinor } from '../../domain/money.js';
import type { InstrumentInfo } from './simulator-catalog.js';
import {
  amountText,
  dhakaTime,
  storeAmountText,
  type OutcomeStatus,
  type Session,
  type SessionStatus,
  type SslcommerzSimulatorStore,
} from './simulator-state.js';
import { signSslcommerzFields } from './verify-sign.js';

const money = (s: Session) => ({
  amount: amountText(s),
  // `currency` is what is settled (always BDT here); currency_type/currency_amount are as initiated.
  currency: 'BDT',
  currency_type: s.currencyType,
  currency_amount: formatMinor(s.currencyMinor),
  currency_rate: s.rate,
  base_fair: '0.00',
});

const cardFields = (i: InstrumentInfo | undefined) => ({
  card_type: i?.cardType ?? '',
  card_no: i?.cardNo ?? '',
  card_issuer: i?.cardIssuer ?? '',
  card_brand: i?.cardBrand ?? '',
  card_sub_brand: i?.cardSubBrand ?? '',
  card_issuer_country: i?.country ?? '',
  card_issuer_country_code: i?.countryCode ?? '',
});

export interface OutcomeParts {
  status: OutcomeStatus;
  error: string;
  instrument: InstrumentInfo | undefined;
  valId: string;
  bankTranId: string;
}

/**
 * What the IPN and the browser return carry, signed (notes §3, §4.4):
 * - VALID: the 2022–2024 set (card_sub_brand and error included), with val_id, store_amount and risk_*;
 * - FAILED: the real sample's set, card_type and card_no empty, no val_id, store_amount or risk_*;
 * - CANCELLED (monim67/sslcommerz-sdk testing.py shape) and EXPIRED (no sample found; same shape):
 *   no card fields and an empty bank_tran_id.
 * `subscription_id` is posted but left out of verify_key, as on the wire.
 */
export function postedFields(s: Session, o: OutcomeParts, store: SslcommerzSimulatorStore): Record<string, string> {
  const common = {
    tran_id: s.tranId,
    ...money(s),
    bank_tran_id: o.bankTranId,
    status: o.status,
    tran_date: dhakaTime(s.createdAt),
    error: o.error,
    store_id: store.storeId,
    ...s.values,
  };
  let fields: Record<string, string>;
  if (o.status === 'VALID') {
    fields = {
      ...common,
      val_id: o.valId,
      store_amount: storeAmountText(s.bdtMinor),
      ...cardFields(o.instrument),
      risk_level: o.instrument?.riskLevel ?? '0',
      risk_title: o.instrument?.riskTitle ?? 'Safe',
    };
  } else if (o.status === 'FAILED') {
    fields = { ...common, ...cardFields(o.instrument), card_type: '', card_no: '' };
  } else {
    fields = common;
  }
  return { ...signSslcommerzFields(fields, store.storePasswd), subscription_id: '' };
}

const emi = (i: InstrumentInfo | undefined) => ({
  emi_instalment: '0',
  emi_amount: '0.00',
  emi_description: '',
  // Real non-EMI answers carry the issuer here too (notes §5 sample).
  emi_issuer: i?.cardBrand === 'MOBILEBANKING' || i?.cardBrand === 'IB' ? '' : (i?.cardIssuer ?? ''),
});

/** The validation API's answer for a paid val_id (notes §5: documented fields plus those seen in real answers). */
export function validationBody(s: Session, status: 'VALID' | 'VALIDATED', nowMs: number) {
  const o = s.outcome;
  const i = o?.instrument;
  return {
    status,
    tran_date: dhakaTime(s.createdAt),
    tran_id: s.tranId,
    val_id: o?.valId ?? '',
    ...money(s),
    store_amount: storeAmountText(s.bdtMinor),
    bank_tran_id: o?.bankTranId ?? '',
    ...cardFields(i),
    card_category: i?.cardCategory ?? '',
    ...emi(i),
    account_details: '',
    discount_percentage: '0',
    discount_remarks: '',
    discount_amount: '0.00',
    ...s.values,
    risk_level: i?.riskLevel ?? '0',
    risk_title: i?.riskTitle ?? 'Safe',
    APIConnect: 'DONE',
    validated_on: dhakaTime(s.validatedAt ?? nowMs),
    gw_version: '',
    // The two JSON numbers of real answers (notes §5, §12.4; the misspelling is SSLCommerz's).
    offer_avail: 1,
    isTokeizeSuccess: 0,
    campaign_code: '',
    cus_name: s.customer.name,
    cus_email: s.customer.email,
    cus_phone: s.customer.phone,
  };
}

/** Paid-only values are empty until paid; a FAILED element keeps its card info (notes §6). */
function paidFields(s: Session, status: SessionStatus) {
  const o = s.outcome;
  const paid = o?.status === 'VALID';
  const i = o?.status === 'FAILED' || paid ? o.instrument : undefined;
  return {
    val_id: paid ? o.valId : '',
    amount: amountText(s),
    store_amount: paid ? storeAmountText(s.bdtMinor) : '',
    bank_tran_id: o?.bankTranId ?? '',
    ...cardFields(i),
    card_type: paid ? (i?.cardType ?? '') : '',
    card_no: paid ? (i?.cardNo ?? '') : '',
    risk_level: paid ? (i?.riskLevel ?? '0') : '',
    risk_title: paid ? (i?.riskTitle ?? 'Safe') : '',
    validated_on: status === 'VALIDATED' && s.validatedAt !== undefined ? dhakaTime(s.validatedAt) : '',
    i,
  };
}

/** One element of the query-by-tran_id answer, in KOT TxnElement's order (notes §6.1). */
export function queryElement(s: Session, status: SessionStatus) {
  const { i, ...p } = paidFields(s, status);
  const m = money(s);
  return {
    val_id: p.val_id,
    status,
    validated_on: p.validated_on,
    currency_type: m.currency_type,
    currency_amount: m.currency_amount,
    currency_rate: m.currency_rate,
    base_fair: m.base_fair,
    ...s.values,
    discount_percentage: '0',
    discount_remarks: '',
    discount_amount: '0.00',
    tran_date: dhakaTime(s.createdAt),
    tran_id: s.tranId,
    amount: p.amount,
    store_amount: p.store_amount,
    bank_tran_id: p.bank_tran_id,
    card_type: p.card_type,
    risk_title: p.risk_title,
    risk_level: p.risk_level,
    currency: m.currency,
    bank_gw: i?.gw ?? '',
    card_no: p.card_no,
    card_issuer: p.card_issuer,
    card_brand: p.card_brand,
    card_issuer_country: p.card_issuer_country,
    card_issuer_country_code: p.card_issuer_country_code,
    gw_version: '',
    ...emi(i),
    error: s.outcome?.error ?? '',
  };
}

/** The flat query-by-sessionkey answer (notes §6.2). */
export function sessionQueryBody(s: Session, status: SessionStatus) {
  const { i, ...p } = paidFields(s, status);
  const m = money(s);
  return {
    APIConnect: 'DONE',
    status,
    sessionkey: s.sessionkey,
    tran_date: dhakaTime(s.createdAt),
    tran_id: s.tranId,
    val_id: p.val_id,
    amount: p.amount,
    store_amount: p.store_amount,
    card_type: p.card_type,
    card_no: p.card_no,
    currency: m.currency,
    bank_tran_id: p.bank_tran_id,
    card_issuer: p.card_issuer,
    card_brand: p.card_brand,
    card_issuer_country: p.card_issuer_country,
    card_issuer_country_code: p.card_issuer_country_code,
    currency_type: m.currency_type,
    currency_amount: m.currency_amount,
    currency_rate: m.currency_rate,
    emi_instalment: emi(i).emi_instalment,
    emi_amount: emi(i).emi_amount,
    discount_percentage: '0',
    discount_remarks: '',
    base_fair: m.base_fair,
    ...s.values,
    risk_level: p.risk_level,
    risk_title: p.risk_title,
    validated_on: p.validated_on,
    gw_version: '',
  };
}
