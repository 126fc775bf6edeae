// Draws the overview's charts from /dashboard/stats.json. Progressive enhancement only: the same
// numbers are in the table under the charts, which works without this file.
(function () {
  'use strict';
  var volumeCanvas = document.getElementById('volume-chart');
  var rateCanvas = document.getElementById('rate-chart');
  if (!volumeCanvas || !rateCanvas) return;

  function say(text) {
    var p = document.createElement('p');
    p.className = 'hint';
    p.textContent = text;
    var table = document.getElementById('daily-table');
    if (table && table.parentNode) table.parentNode.insertBefore(p, table);
  }

  if (typeof window.Chart !== 'function') {
    say('Charts could not be loaded; the table below has the same numbers.');
    return;
  }

  function draw(canvas, type, label, labels, values, yOptions) {
    return new window.Chart(canvas, {
      type: type,
      data: { labels: labels, datasets: [{ label: label, data: values, borderWidth: 2, tension: 0.2 }] },
      options: {
        animation: false,
        responsive: true,
        scales: { y: yOptions },
        plugins: { legend: { display: false } },
      },
    });
  }

  fetch('/dashboard/stats.json', { credentials: 'same-origin', headers: { accept: 'application/json' } })
    .then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    })
    .then(function (stats) {
      var days = stats.days || [];
      var labels = days.map(function (d) {
        return d.date.slice(5);
      });
      // Volume arrives as decimal text (money is never a float on the server); a chart only needs
      // an approximate bar height, so converting here is harmless.
      var volumes = days.map(function (d) {
        return Number(d.volume);
      });
      var rates = days.map(function (d) {
        return d.total === 0 ? null : d.successRate;
      });
      draw(volumeCanvas, 'bar', 'Approved volume (BDT)', labels, volumes, { beginAtZero: true });
      draw(rateCanvas, 'line', 'Success rate (%)', labels, rates, { min: 0, max: 100 });
      document.body.setAttribute('data-charts', 'ready');
    })
    .catch(function () {
      say('Charts could not be drawn; the table below has the same numbers.');
    });
})();
