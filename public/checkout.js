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
  // Card number: group digits in fours as the customer types.
  var num = document.getElementById('card_number');
  if (num) {
    num.addEventListener('input', function () {
      var digits = num.value.replace(/\D/g, '').slice(0, 19);
      var grouped = digits.replace(/(\d{4})(?=\d)/g, '$1 ');
      if (grouped !== num.value) num.value = grouped;
    });
  }
  var exp = document.getElementById('expiry');
  if (exp) {
    exp.addEventListener('input', function (ev) {
      if (ev.inputType && ev.inputType.indexOf('delete') === 0) return;
      var d = exp.value.replace(/\D/g, '').slice(0, 4);
      exp.value = d.length > 2 ? d.slice(0, 2) + '/' + d.slice(2) : d;
    });
  }
})();
