'use strict';
/* Badmail: dead letters with their reasons; resend or delete. */
document.addEventListener('DOMContentLoaded', async () => {
  const {el, api, run} = petrel;
  await petrel.start('badmail');

  async function show(id) {
    const b = await api('GET', '/api/badmail/' + encodeURIComponent(id));
    document.getElementById('detail').classList.remove('hidden');
    document.getElementById('detail-title').textContent =
      b.id + ', ' + petrel.size(b.size) + ', ' + petrel.when(b.time);
    document.getElementById('detail-reason').textContent = b.reason;
    document.getElementById('detail-message').textContent =
      b.message === null ? '(the message file is gone)'
        : b.message + (b.truncated ? '\n[… cut at 1 MiB]' : '');
  }

  async function refresh() {
    const {badmail} = await api('GET', '/api/badmail');
    document.getElementById('list').replaceChildren(petrel.table(
      ['id', 'when', 'size', 'reason', ''],
      badmail.map((b) => {
        const path = '/api/badmail/' + encodeURIComponent(b.id);
        return el('tr', {id: 'bad-' + b.id},
          el('td', {class: 'mono'}, b.id),
          el('td', {}, petrel.when(b.time)),
          el('td', {class: 'num'}, petrel.size(b.size)),
          el('td', {class: 'reason'}, b.reason.split('\n').slice(0, 3).join(' ')),
          el('td', {class: 'actions'},
            el('button', {type: 'button', onclick: () => run('Loading ' + b.id, () => show(b.id))}, 'Show'),
            el('button', {type: 'button', onclick: () =>
              run('Resending ' + b.id, () => api('POST', path + '/resend'), refresh)},
            b.requeue ? 'Requeue' : 'Resend'),
            el('button', {class: 'danger', type: 'button', onclick: () => {
              if (confirm('Delete ' + b.id + ' for good?'))
                run('Deleting ' + b.id, () => api('DELETE', path), refresh);
            }}, 'Delete')));
      }), 'No dead letters.'));
  }

  await run('Loading', refresh);
});
