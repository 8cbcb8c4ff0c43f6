'use strict';
/* Dashboard: traffic per minute, queue size and sessions (GET /api/stats),
 * plotted with Debian's Chart.js when it is installed, else a table. */
document.addEventListener('DOMContentLoaded', async () => {
  const {el} = petrel;
  await petrel.start('dashboard');
  const range = document.getElementById('range');
  const charts = {};
  const SERIES = [
    ['received', '#1f6feb'], ['delivered', '#1a7f37'],
    ['deferred', '#bf8700'], ['bounced', '#b42318'],
  ];

  function label(t) {
    return new Date(t * 1000).toTimeString().slice(0, 5);
  }

  /* plot - a chart made once, then given new data. Traffic is bars (a
   * minute is a count of its own), queue and sessions lines (a level). */
  function plot(id, type, datasets, labels) {
    if (charts[id]) {
      charts[id].data.labels = labels;
      charts[id].data.datasets.forEach((d, i) => { d.data = datasets[i].data; });
      charts[id].update('none');
      return;
    }
    charts[id] = new Chart(document.getElementById(id), {
      type,
      data: {labels, datasets},
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: {mode: 'index', intersect: false},
        elements: {
          /* Points only while there are few minutes to show. */
          point: {radius: (c) => (c.chart.data.labels.length <= 60 ? 3 : 1)},
          line: {borderWidth: 2, tension: 0.2},
          bar: {borderWidth: 0},
        },
        datasets: {bar: {maxBarThickness: 18}},
        scales: {
          x: {ticks: {maxTicksLimit: 12, autoSkip: true, maxRotation: 0}},
          y: {beginAtZero: true, ticks: {precision: 0}},
        },
      },
    });
  }

  function fallback(minutes) {
    const rows = minutes.slice(-30).reverse().map((m) => el('tr', {},
      el('td', {}, label(m.t)),
      ...SERIES.map(([k]) => el('td', {class: 'num'}, m[k])),
      el('td', {class: 'num'}, m.queue), el('td', {class: 'num'}, m.sessions)));
    document.getElementById('fallback').replaceChildren(
      el('p', {class: 'muted'}, 'Chart.js is not installed: the last 30 minutes.'),
      petrel.table(['minute', ...SERIES.map(([k]) => k), 'queue', 'sessions'], rows));
  }

  /* pad - one slot per minute of the whole period, so the time axis is
   * the period chosen; minutes before the server started are gaps. */
  function pad(s) {
    const n = Number(range.value);
    const last = Math.floor(s.now / 60) * 60;
    const have = new Map(s.minutes.map((m) => [m.t, m]));
    const out = [];
    for (let t = last - (n - 1) * 60; t <= last; t += 60)
      out.push(have.get(t) || {t, gap: true});
    return out;
  }

  function series(minutes, key) {
    return minutes.map((m) => (m.gap ? null : m[key]));
  }

  async function refresh() {
    const s = await petrel.api('GET', '/api/stats?minutes=' + range.value);
    const slots = pad(s);
    const labels = slots.map((m) => label(m.t));
    for (const [k] of SERIES)
      document.getElementById(k + '-total').textContent =
        s.minutes.reduce((sum, m) => sum + m[k], 0);
    document.querySelectorAll('.range-label').forEach((e) => {
      e.textContent = range.options[range.selectedIndex].text;
    });
    document.getElementById('queue-messages').textContent = s.queue.messages;
    document.getElementById('queue-detail').textContent =
      s.queue.recipients + (s.queue.recipients === 1 ? ' recipient' : ' recipients') +
      ', oldest ' + petrel.age(s.queue.oldest_age);
    document.getElementById('sessions-now').textContent = s.sessions;
    if (typeof Chart === 'undefined') {
      fallback(s.minutes);
      return;
    }
    plot('traffic', 'bar', SERIES.map(([k, color]) => ({
      label: k, data: series(slots, k),
      borderColor: color, backgroundColor: color,
    })), labels);
    plot('load', 'line', [
      {label: 'queue', data: series(slots, 'queue'),
        borderColor: '#6f42c1', backgroundColor: '#6f42c1'},
      {label: 'sessions', data: series(slots, 'sessions'),
        borderColor: '#0a7ea4', backgroundColor: '#0a7ea4'},
    ], labels);
  }

  range.addEventListener('change', () => petrel.run('Loading', refresh));
  try {
    await refresh();
    document.body.dataset.loaded = 'yes';
  } catch (e) {
    petrel.status(e.message, 'error');
  }
  setInterval(() => refresh().catch((e) => petrel.status(e.message, 'error')), 5000);
});
