export type Lang = 'en' | 'bn';

const en = {
  htmlTitle: 'Secure payment',
  payTo: 'Pay {merchant}',
  order: 'Order',
  orderRef: 'Order {id}',
  item: 'Item',
  qty: 'Qty',
  unitPrice: 'Unit price',
  lineTotal: 'Total',
  shipping: 'Shipping',
  discount: 'Discount',
  total: 'Total',
  amountToPay: 'Amount to pay',
  inBdt: 'In BDT',
  rateNote: 'at {rate} BDT per {currency}',
  chooseMethod: 'Choose how to pay',
  methodCard: 'Card',
  methodWallet: 'Mobile wallet',
  methodBank: 'Internet banking',
  cardsAccepted: 'Visa, Mastercard, American Express, DBBL Nexus',
  cardNumber: 'Card number',
  expiry: 'Expiry',
  expiryHint: 'MM/YY',
  cvv: 'CVV',
  cvvHint: '3 digits on the back (4 on the front for Amex)',
  nameOnCard: 'Name on card',
  provider: 'Wallet provider',
  walletNumber: 'Wallet number',
  walletHint: '11-digit mobile number, e.g. 017XXXXXXXX',
  pin: 'PIN',
  bank: 'Bank',
  username: 'Username',
  password: 'Password',
  otp: 'One-time password',
  otpPrompt: 'Enter the one-time password sent for {what}.',
  otpPromptPlain: 'Enter the one-time password the bank sent you.',
  triesLeft: '{n} tries left.',
  triesLeftOne: '1 try left.',
  charged: 'Charged',
  orderMismatch: 'The shop’s order summary does not add up to the amount to pay; the amount to pay is what is charged.',
  pay: 'Pay',
  cancel: 'Cancel',
  verify: 'Verify',
  emiTitle: 'Pay in instalments (EMI)',
  emiBank: 'EMI bank',
  emiPeriod: 'Instalments',
  emiNone: 'No EMI, pay in full',
  emiOption: '{n} months: {ratio}% surcharge, +{charge} BDT, {total} BDT in all',
  emiNote: 'The EMI surcharge is added to what you pay.',
  errRequired: 'Please fill this in.',
  errCardLuhn: 'This card number is not valid. Check it and try again.',
  errCardFormat: 'Enter the card number as printed on the card (12 to 19 digits).',
  errCardBrand: 'This card type is not accepted. Use Visa, Mastercard, Amex or DBBL Nexus.',
  errExpiryFormat: 'Enter the expiry as MM/YY.',
  errExpiryPast: 'This card has expired. Check the date or use another card.',
  errCvv: 'Enter the {n}-digit CVV.',
  errName: 'Enter the name as printed on the card.',
  errWallet: 'Enter an 11-digit Bangladeshi mobile number (01XXXXXXXXX).',
  errPin: 'Enter your wallet PIN.',
  errOtp: 'Enter the one-time password.',
  errEmi: 'Choose a bank and a number of instalments offered here.',
  fixErrors: 'Please correct the highlighted fields.',
  paid: 'Payment successful',
  declined: 'Payment declined',
  cancelled: 'Payment cancelled',
  expired: 'Payment expired',
  expiredText: 'This payment was not completed in time. No money was taken.',
  timeoutText: 'The bank did not answer in time. You have not been charged; you may try again from the shop.',
  returning: 'Returning you to {merchant}…',
  returnButton: 'Return to {merchant}',
  notFound: 'Payment not found',
  notFoundText: 'This payment link is not valid. Please start again from the shop.',
  busy: 'Your payment is being processed',
  busyText: 'Please wait; this page refreshes by itself. Do not pay again.',
  unavailable: 'Payment is not available',
  unavailableText: 'This merchant cannot take payments at the moment. No money was taken.',
  tooManyTries: 'Too many attempts',
  tooManyTriesText:
    'Too many wrong codes were entered from this connection. Please wait {n} seconds, then go back and try again.',
  sandbox: 'Sandbox: no real money moves. Use the test instruments listed below.',
  testInstruments: 'Test instruments',
  switchLang: 'বাংলা',
  secured: 'Card details go straight to the bank; the shop never sees them.',
  reference: 'Reference',
  merchant: 'Merchant',
  payWith: 'Pay with {name}',
  continueTo: 'Continue to {name}',
  redirectNote: 'You will pay {amount} BDT on {name}’s own secure page, then come back here.',
  redirectingTo: 'Taking you to {name}…',
  atUpstream: 'You are paying with {name}',
  atUpstreamText: 'Your payment was started on {name}’s page. Continue there to finish it, or cancel it.',
  confirming: 'We are confirming your payment',
  confirmingText:
    'We are asking {name} whether your payment went through. Do not pay again: this page refreshes by itself and shows the result.',
  tryAgain: 'Please try again',
  tryAgainText:
    '{name} could not start your payment. No money was taken; you may try again or choose another way to pay.',
  noMethods: 'No way to pay is available for this payment at the moment. No money was taken.',
  bankAuthTitle: 'Sandbox Bank: 3-D Secure',
  bankAuthText: 'Confirm the payment of {amount} BDT to {merchant} with card {card}.',
  bankAuthApprove: 'Authenticate',
  bankAuthFail: 'Fail authentication',
};

export type MessageKey = keyof typeof en;

const bn: Record<MessageKey, string> = {
  htmlTitle: 'নিরাপদ পেমেন্ট',
  payTo: '{merchant}-কে পরিশোধ করুন',
  order: 'অর্ডার',
  orderRef: 'অর্ডার {id}',
  item: 'পণ্য',
  qty: 'পরিমাণ',
  unitPrice: 'একক মূল্য',
  lineTotal: 'মোট',
  shipping: 'শিপিং',
  discount: 'ছাড়',
  total: 'সর্বমোট',
  amountToPay: 'পরিশোধযোগ্য অর্থ',
  inBdt: 'টাকায়',
  rateNote: 'প্রতি {currency} {rate} টাকা হারে',
  chooseMethod: 'পেমেন্ট পদ্ধতি বেছে নিন',
  methodCard: 'কার্ড',
  methodWallet: 'মোবাইল ওয়ালেট',
  methodBank: 'ইন্টারনেট ব্যাংকিং',
  cardsAccepted: 'ভিসা, মাস্টারকার্ড, আমেরিকান এক্সপ্রেস, ডিবিবিএল নেক্সাস',
  cardNumber: 'কার্ড নম্বর',
  expiry: 'মেয়াদ',
  expiryHint: 'MM/YY',
  cvv: 'সিভিভি',
  cvvHint: 'কার্ডের পেছনের ৩ অঙ্ক (অ্যামেক্সের সামনে ৪ অঙ্ক)',
  nameOnCard: 'কার্ডে লেখা নাম',
  provider: 'ওয়ালেট প্রদানকারী',
  walletNumber: 'ওয়ালেট নম্বর',
  walletHint: '১১ অঙ্কের মোবাইল নম্বর, যেমন 017XXXXXXXX',
  pin: 'পিন',
  bank: 'ব্যাংক',
  username: 'ইউজারনেম',
  password: 'পাসওয়ার্ড',
  otp: 'ওয়ান-টাইম পাসওয়ার্ড',
  otpPrompt: '{what}-এর জন্য পাঠানো ওয়ান-টাইম পাসওয়ার্ডটি লিখুন।',
  otpPromptPlain: 'ব্যাংকের পাঠানো ওয়ান-টাইম পাসওয়ার্ডটি লিখুন।',
  triesLeft: 'আর {n} বার চেষ্টা করা যাবে।',
  triesLeftOne: 'আর ১ বার চেষ্টা করা যাবে।',
  charged: 'কাটা হবে',
  orderMismatch: 'দোকানের অর্ডারের হিসাব পরিশোধযোগ্য অর্থের সাথে মেলে না; পরিশোধযোগ্য অর্থই কাটা হবে।',
  pay: 'পরিশোধ করুন',
  cancel: 'বাতিল করুন',
  verify: 'যাচাই করুন',
  emiTitle: 'কিস্তিতে পরিশোধ (ইএমআই)',
  emiBank: 'ইএমআই ব্যাংক',
  emiPeriod: 'কিস্তি',
  emiNone: 'ইএমআই নয়, পুরো টাকা একবারে',
  emiOption: '{n} মাস: {ratio}% অতিরিক্ত চার্জ, +{charge} টাকা, মোট {total} টাকা',
  emiNote: 'ইএমআই চার্জ আপনার পরিশোধের সাথে যোগ হবে।',
  errRequired: 'এই ঘরটি পূরণ করুন।',
  errCardLuhn: 'কার্ড নম্বরটি সঠিক নয়। যাচাই করে আবার চেষ্টা করুন।',
  errCardFormat: 'কার্ডে যেমন ছাপা আছে তেমন কার্ড নম্বর লিখুন (১২ থেকে ১৯ অঙ্ক)।',
  errCardBrand: 'এই ধরনের কার্ড গ্রহণ করা হয় না। ভিসা, মাস্টারকার্ড, অ্যামেক্স বা ডিবিবিএল নেক্সাস ব্যবহার করুন।',
  errExpiryFormat: 'মেয়াদ MM/YY আকারে লিখুন।',
  errExpiryPast: 'এই কার্ডের মেয়াদ শেষ। তারিখ যাচাই করুন বা অন্য কার্ড ব্যবহার করুন।',
  errCvv: '{n} অঙ্কের সিভিভি লিখুন।',
  errName: 'কার্ডে যেমন লেখা আছে তেমন নাম লিখুন।',
  errWallet: '১১ অঙ্কের বাংলাদেশি মোবাইল নম্বর লিখুন (01XXXXXXXXX)।',
  errPin: 'আপনার ওয়ালেট পিন লিখুন।',
  errOtp: 'ওয়ান-টাইম পাসওয়ার্ডটি লিখুন।',
  errEmi: 'এখানে দেওয়া একটি ব্যাংক ও কিস্তির সংখ্যা বেছে নিন।',
  fixErrors: 'চিহ্নিত ঘরগুলো ঠিক করুন।',
  paid: 'পেমেন্ট সফল হয়েছে',
  declined: 'পেমেন্ট প্রত্যাখ্যাত হয়েছে',
  cancelled: 'পেমেন্ট বাতিল হয়েছে',
  expired: 'পেমেন্টের মেয়াদ শেষ',
  expiredText: 'পেমেন্টটি সময়মতো সম্পন্ন হয়নি। কোনো টাকা কাটা হয়নি।',
  timeoutText: 'ব্যাংক সময়মতো সাড়া দেয়নি। আপনার কাছ থেকে কোনো টাকা কাটা হয়নি; দোকান থেকে আবার চেষ্টা করতে পারেন।',
  returning: 'আপনাকে {merchant}-এ ফিরিয়ে নেওয়া হচ্ছে…',
  returnButton: '{merchant}-এ ফিরে যান',
  notFound: 'পেমেন্ট পাওয়া যায়নি',
  notFoundText: 'এই পেমেন্ট লিংকটি সঠিক নয়। দোকান থেকে আবার শুরু করুন।',
  busy: 'আপনার পেমেন্ট প্রক্রিয়াধীন',
  busyText: 'অনুগ্রহ করে অপেক্ষা করুন; পাতাটি নিজে থেকেই রিফ্রেশ হবে। আবার পরিশোধ করবেন না।',
  unavailable: 'পেমেন্ট এখন সম্ভব নয়',
  unavailableText: 'এই মার্চেন্ট এই মুহূর্তে পেমেন্ট নিতে পারছে না। কোনো টাকা কাটা হয়নি।',
  tooManyTries: 'অনেকবার চেষ্টা করা হয়েছে',
  tooManyTriesText: 'এই সংযোগ থেকে অনেকবার ভুল কোড দেওয়া হয়েছে। অনুগ্রহ করে {n} সেকেন্ড অপেক্ষা করে আবার চেষ্টা করুন।',
  sandbox: 'স্যান্ডবক্স: কোনো আসল টাকা লেনদেন হয় না। নিচের টেস্ট ইনস্ট্রুমেন্ট ব্যবহার করুন।',
  testInstruments: 'টেস্ট ইনস্ট্রুমেন্ট',
  switchLang: 'English',
  secured: 'কার্ডের তথ্য সরাসরি ব্যাংকে যায়; দোকান তা দেখতে পায় না।',
  reference: 'রেফারেন্স',
  merchant: 'মার্চেন্ট',
  payWith: '{name} দিয়ে পরিশোধ করুন',
  continueTo: '{name}-এ চালিয়ে যান',
  redirectNote: 'আপনি {name}-এর নিজস্ব নিরাপদ পাতায় {amount} টাকা পরিশোধ করবেন, তারপর এখানে ফিরে আসবেন।',
  redirectingTo: 'আপনাকে {name}-এ নিয়ে যাওয়া হচ্ছে…',
  atUpstream: 'আপনি {name} দিয়ে পরিশোধ করছেন',
  atUpstreamText: 'আপনার পেমেন্ট {name}-এর পাতায় শুরু হয়েছে। শেষ করতে সেখানে চালিয়ে যান, অথবা বাতিল করুন।',
  confirming: 'আমরা আপনার পেমেন্ট নিশ্চিত করছি',
  confirmingText:
    'আপনার পেমেন্ট সম্পন্ন হয়েছে কি না আমরা {name}-এর কাছে জানতে চাইছি। আবার পরিশোধ করবেন না: পাতাটি নিজে থেকেই রিফ্রেশ হয়ে ফলাফল দেখাবে।',
  tryAgain: 'আবার চেষ্টা করুন',
  tryAgainText: '{name} আপনার পেমেন্ট শুরু করতে পারেনি। কোনো টাকা কাটা হয়নি; আবার চেষ্টা করুন বা অন্যভাবে পরিশোধ করুন।',
  noMethods: 'এই মুহূর্তে এই পেমেন্টের জন্য কোনো পরিশোধের উপায় নেই। কোনো টাকা কাটা হয়নি।',
  bankAuthTitle: 'স্যান্ডবক্স ব্যাংক: ৩-ডি সিকিউর',
  bankAuthText: '{card} কার্ড দিয়ে {merchant}-কে {amount} টাকা পরিশোধ নিশ্চিত করুন।',
  bankAuthApprove: 'যাচাই করুন',
  bankAuthFail: 'যাচাই ব্যর্থ করুন',
};

const DICTS: Record<Lang, Record<MessageKey, string>> = { en, bn };

/**
 * What banks, wallets and the gateway say (txn_details, a retry's reason) is English on the wire
 * (check-payment, callbacks); on a Bangla page the known texts are shown in Bangla. An unknown text
 * is shown as it is.
 */
const BANK_TEXTS_BN: Readonly<Record<string, string>> = {
  Declined: 'প্রত্যাখ্যাত',
  'Declined: insufficient funds': 'প্রত্যাখ্যাত: অ্যাকাউন্টে যথেষ্ট টাকা নেই',
  'Declined: insufficient balance': 'প্রত্যাখ্যাত: ওয়ালেটে যথেষ্ট ব্যালান্স নেই',
  'Declined: expired card': 'প্রত্যাখ্যাত: কার্ডের মেয়াদ শেষ',
  'Declined: incorrect CVV': 'প্রত্যাখ্যাত: সিভিভি সঠিক নয়',
  'Declined: invalid card number': 'প্রত্যাখ্যাত: কার্ড নম্বর সঠিক নয়',
  'Declined: wallet not registered': 'প্রত্যাখ্যাত: এই নম্বরে কোনো ওয়ালেট নিবন্ধিত নেই',
  'Declined: authentication failed': 'প্রত্যাখ্যাত: যাচাই ব্যর্থ হয়েছে',
  'Declined: too many wrong attempts': 'প্রত্যাখ্যাত: অনেকবার ভুল তথ্য দেওয়া হয়েছে',
  'Cancelled by customer': 'গ্রাহক বাতিল করেছেন',
  Expired: 'মেয়াদ শেষ',
  'Wrong PIN': 'পিন সঠিক নয়',
  'Wrong one-time password': 'ওয়ান-টাইম পাসওয়ার্ড সঠিক নয়',
  'Wrong username or password': 'ইউজারনেম বা পাসওয়ার্ড সঠিক নয়',
};

export function bankText(lang: Lang, text: string): string {
  return (lang === 'bn' ? BANK_TEXTS_BN[text] : undefined) ?? text;
}

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function translator(lang: Lang): Translate {
  const d = DICTS[lang];
  return (key, vars) => {
    let s = d[key];
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  };
}

/** ?lang= wins, then the cookie, then Accept-Language (Bangla when it is preferred over English). */
export function pickLang(
  query: string | undefined,
  cookie: string | undefined,
  acceptLanguage: string | undefined,
): Lang {
  for (const v of [query, cookie]) if (v === 'en' || v === 'bn') return v;
  const prefs = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = params.find((p) => p.trim().startsWith('q='));
      return { tag, q: q ? Number(q.trim().slice(2)) || 0 : 1 };
    })
    .sort((a, b) => b.q - a.q);
  for (const p of prefs) {
    if (p.tag.startsWith('bn')) return 'bn';
    if (p.tag.startsWith('en')) return 'en';
  }
  return 'en';
}
