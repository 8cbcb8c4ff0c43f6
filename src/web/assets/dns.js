'use strict';
/* DNS: the records each hosted domain should publish. */
document.addEventListener('DOMContentLoaded', async () => {
  const {el, api, run} = petrel;
  await petrel.start('dns');
  const domain = document.getElementById('domain');

  function zoneLine(r) {
    let v = r.value;
    if (r.type === 'TXT') {
      const parts = [];
      for (let i = 0; i < v.length || i === 0; i += 255)
        parts.push('"' + v.slice(i, i + 255).replace(/[\\"]/g, '\\$&') + '"');
      v = parts.join(' ');
    }
    return '; ' + r.note + '\n' + r.name + '\tIN\t' + r.type + '\t' + v;
  }

  async function refresh() {
    if (!domain.value) {
      document.getElementById('list').replaceChildren(
        el('p', {class: 'muted'}, 'No hosted domains yet.'));
      return;
    }
    const d = await api('GET', '/api/domains/' + encodeURIComponent(domain.value) + '/dns');
    document.getElementById('list').replaceChildren(petrel.table(
      ['name', 'type', 'value', 'what for'],
      d.records.map((r) => el('tr', {},
        el('td', {class: 'mono'}, r.name), el('td', {}, r.type),
        el('td', {class: 'mono'}, r.value), el('td', {class: 'muted'}, r.note)))));
    document.getElementById('zone').textContent = d.records.map(zoneLine).join('\n');
  }

  await petrel.domains(domain, false);
  const want = petrel.param('domain');
  if (want) domain.value = want;
  domain.addEventListener('change', () => run('Loading', refresh));
  await run('Loading', refresh);
});
