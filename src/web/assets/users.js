'use strict';
/* Users: list by domain, add, set password and quota, delete. */
document.addEventListener('DOMContentLoaded', async () => {
  const {el, api, run} = petrel;
  await petrel.start('users');
  const domain = document.getElementById('domain');

  async function refresh() {
    const q = domain.value ? '?domain=' + encodeURIComponent(domain.value) : '';
    const {users} = await api('GET', '/api/users' + q);
    document.getElementById('list').replaceChildren(petrel.table(
      ['address', 'quota', ''],
      users.map((u) => {
        const path = '/api/users/' + encodeURIComponent(u.address);
        return el('tr', {},
          el('td', {}, u.address),
          el('td', {}, u.quota_text),
          el('td', {class: 'actions'},
            el('button', {type: 'button', onclick: () => {
              const pw = prompt('New password for ' + u.address);
              if (pw) run('Setting the password', () =>
                api('POST', path + '/password', {password: pw}));
            }}, 'Password'),
            el('button', {type: 'button', onclick: () => {
              const q = prompt('Quota for ' + u.address + ' (e.g. 500m, 2g, none)', u.quota_text);
              if (q !== null) run('Setting the quota', () =>
                api('POST', path + '/quota', {quota: q.trim() || 'none'}), refresh);
            }}, 'Quota'),
            el('button', {class: 'danger', type: 'button', onclick: () => {
              if (confirm('Delete ' + u.address + '? (The mailbox stays on disk.)'))
                run('Deleting ' + u.address, () => api('DELETE', path), refresh);
            }}, 'Delete')));
      }), 'No users.'));
  }

  document.getElementById('add').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const a = document.getElementById('address');
    const p = document.getElementById('password');
    const q = document.getElementById('quota');
    const body = {address: a.value, password: p.value};
    if (q.value.trim()) body.quota = q.value.trim();
    run('Adding ' + a.value, async () => {
      await api('POST', '/api/users', body);
      a.value = p.value = q.value = '';
    }, refresh);
  });
  domain.addEventListener('change', () => run('Loading', refresh));
  await run('Loading', async () => {
    await petrel.domains(domain, true);
    await refresh();
  });
});
