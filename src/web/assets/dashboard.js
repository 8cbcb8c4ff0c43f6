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

  function line(id, datasets, labels) {
    if (charts[id]) {
      charts[id].data.labels = labels;
      charts[id].data.datasets.forEach((d, i) => { d.data = datasets[i].data; });
      charts[id].update('none');
      return;
    }
    charts[id] = new Chart(document.getElementById(id), {
      type: 'line',
      data: {labels, datasets},
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: {mode: 'index', intersect: false},
        elements: {point: {radius: 0}, line: {borderWidth: 2, tension: 0.2}},
        scales: {y: {beginAtZero: true, ticks: {precision: 0}}},
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

  async function refresh() {
    const s = await petrel.api('GET', '/api/stats?minutes=' + range.value);
    const labels = s.minutes.map((m) => label(m.t));
    for (const [k] of SERIES)
      document.getElementById(k + '-total').textContent =
        s.minutes.reduce((sum, m) => sum + m[k], 0);
    document.querySelectorAll('.range-label').forEach((e) => {
      e.textContent = range.options[range.selectedIndex].text;
    });
    document.getElementById('queue-messages').textContent = s.queue.messages;
    document.getElementById('queue-detail').textContent =
      s.queue.recipients + ' recipients, oldest ' + petrel.age(s.queue.oldest_age);
    document.getElementById('sessions-now').textContent = s.sessions;
    if (typeof Chart === 'undefined') {
      fallback(s.minutes);
      return;
    }
    line('traffic', SERIES.map(([k, color]) => ({
      label: k, data: s.minutes.map((m) => m[k]),
      borderColor: color, backgroundColor: color,
    })), labels);
    line('load', [
      {label: 'queue', data: s.minutes.map((m) => m.queue),
        borderColor: '#6f42c1', backgroundColor: '#6f42c1'},
      {label: 'sessions', data: s.minutes.map((m) => m.sessions),
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
