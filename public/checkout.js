// Progressive enhancement only: every page works without this file.
(function () {
  'use strict';
  // The result page hands the outcome to the merchant by itself.
  var auto = document.querySelector('form[data-autosubmit]');
  if (auto) {
    setTimeout(function () {
      auto.submit();
    }, 600);
  }
  // A second click on Pay is ignored in the page (the server also refuses to charge twice).
  document.querySelectorAll('form[data-once]').forEach(function (form) {
    form.addEventListener('submit', function (ev) {
      if (form.dataset.sent === '1') {
        ev.preventDefault();
        return;
      }
      form.dataset.sent = '1';
      form.setAttribute('aria-busy', 'true');
    });
  });
  // Digits only, Bangla digits (০–৯, from a Bangla keyboard) read as the same ASCII digits.
  function digitsOf(value) {
    return value
      .replace(/[\u09E6-\u09EF]/g, function (c) {
        return String(c.charCodeAt(0) - 0x09e6);
      })
      .replace(/\D/g, '');
  }
  // Card number: grouped as printed (Amex 4-6-5, others in fours) as the customer types.
  var num = document.getElementById('card_number');
  if (num) {
    num.addEventListener('input', function () {
      var digits = digitsOf(num.value).slice(0, 19);
      var grouped = /^3[47]/.test(digits)
        ? digits.replace(/^(\d{4})(\d{1,6})?(\d{1,5})?$/, function (_m, a, b, c) {
            return [a, b, c].filter(Boolean).join(' ');
          })
        : digits.replace(/(\d{4})(?=\d)/g, '$1 ');
      if (grouped !== num.value) num.value = grouped;
    });
  }
  // Expiry: MM/YY or MM/YYYY (the server takes both).
  var exp = document.getElementById('expiry');
  if (exp) {
    exp.addEventListener('input', function (ev) {
      if (ev.inputType && ev.inputType.indexOf('delete') === 0) return;
      var d = digitsOf(exp.value).slice(0, 6);
      exp.value = d.length > 2 ? d.slice(0, 2) + '/' + d.slice(2) : d;
    });
  }
})();
