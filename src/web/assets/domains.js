'use strict';
/* Domains: list, add, delete (refused while users or aliases remain). */
document.addEventListener('DOMContentLoaded', async () => {
  const {el, api, run} = petrel;
  await petrel.start('domains');

  async function refresh() {
    const {domains} = await api('GET', '/api/domains');
    document.getElementById('list').replaceChildren(petrel.table(
      ['domain', ''],
      domains.map((d) => el('tr', {},
        el('td', {}, d.name),
        el('td', {class: 'actions'},
          el('a', {href: '/dns?domain=' + encodeURIComponent(d.name)}, 'DNS records'), ' ',
          el('button', {class: 'danger', type: 'button', onclick: () => {
            if (confirm('Delete the domain ' + d.name + '?'))
              run('Deleting ' + d.name, () =>
                api('DELETE', '/api/domains/' + encodeURIComponent(d.name)), refresh);
          }}, 'Delete')))),
      'No domains yet.'));
  }

  document.getElementById('add').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = document.getElementById('name');
    run('Adding ' + name.value, async () => {
      await api('POST', '/api/domains', {name: name.value});
      name.value = '';
    }, refresh);
  });
  await run('Loading', refresh);
});
