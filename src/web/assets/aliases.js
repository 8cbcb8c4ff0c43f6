'use strict';
/* Aliases and lists: an address forwarded to one or more targets. */
document.addEventListener('DOMContentLoaded', async () => {
  const {el, api, run} = petrel;
  await petrel.start('aliases');
  const domain = document.getElementById('domain');

  async function refresh() {
    const q = domain.value ? '?domain=' + encodeURIComponent(domain.value) : '';
    const {aliases} = await api('GET', '/api/aliases' + q);
    document.getElementById('list').replaceChildren(petrel.table(
      ['address', 'targets', ''],
      aliases.map((a) => el('tr', {},
        el('td', {}, a.address),
        el('td', {}, a.targets.join(', ')),
        el('td', {class: 'actions'},
          el('button', {class: 'danger', type: 'button', onclick: () => {
            if (confirm('Delete ' + a.address + '?'))
              run('Deleting ' + a.address, () =>
                api('DELETE', '/api/aliases/' + encodeURIComponent(a.address)), refresh);
          }}, 'Delete')))),
      'No aliases.'));
  }

  document.getElementById('add').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const a = document.getElementById('address');
    const t = document.getElementById('targets');
    const targets = t.value.split(/[\s,]+/).filter((x) => x);
    run('Saving ' + a.value, async () => {
      await api('POST', '/api/aliases', {address: a.value, targets});
      a.value = t.value = '';
    }, refresh);
  });
  domain.addEventListener('change', () => run('Loading', refresh));
  await run('Loading', async () => {
    await petrel.domains(domain, true);
    await refresh();
  });
});
