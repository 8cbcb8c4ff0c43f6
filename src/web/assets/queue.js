'use strict';
/* Queue: what waits, why, and what to do about it. */
document.addEventListener('DOMContentLoaded', async () => {
  const {el, api, run} = petrel;
  await petrel.start('queue');

  async function show(id) {
    const m = await api('GET', '/api/queue/' + encodeURIComponent(id));
    document.getElementById('detail').classList.remove('hidden');
    document.getElementById('detail-title').textContent =
      m.id + ' from <' + m.sender + '>, ' + petrel.size(m.size) +
      ', arrived ' + petrel.when(m.arrival) + ' from [' + m.client + ']';
    document.getElementById('detail-rcpts').replaceChildren(petrel.table(
      ['recipient', 'state', 'attempts', 'last error'],
      m.recipients.map((r) => el('tr', {},
        el('td', {}, r.address), el('td', {}, r.state),
        el('td', {class: 'num'}, r.attempts),
        el('td', {class: 'reason'}, r.last_error || '')))));
    document.getElementById('detail-message').textContent =
      m.message === null ? '(the message file is gone)'
        : m.message + (m.truncated ? '\n[… cut at 1 MiB]' : '');
  }

  async function refresh() {
    const {messages} = await api('GET', '/api/queue');
    document.getElementById('count').textContent =
      messages.length + ' message' + (messages.length === 1 ? '' : 's');
    document.getElementById('list').replaceChildren(petrel.table(
      ['id', 'age', 'size', 'sender', 'waiting for', ''],
      messages.map((m) => {
        const path = '/api/queue/' + encodeURIComponent(m.id);
        return el('tr', {id: 'msg-' + m.id},
          el('td', {class: 'mono'}, m.id),
          el('td', {class: 'num'}, petrel.age(m.age)),
          el('td', {class: 'num'}, petrel.size(m.size)),
          el('td', {}, '<' + m.sender + '>'),
          el('td', {}, m.recipients.map((r) => el('div', {},
            '<' + r.address + '> ',
            el('span', {class: 'reason'}, r.last_error ? '(' + r.last_error + ')' : '')))),
          el('td', {class: 'actions'},
            el('button', {type: 'button', class: 'show', onclick: () => run('Loading ' + m.id, () => show(m.id))}, 'Show'),
            el('button', {type: 'button', class: 'retry', onclick: () =>
              run('Retrying ' + m.id, () => api('POST', path + '/flush'), refresh)}, 'Retry'),
            el('button', {type: 'button', class: 'bounce', onclick: () => {
              if (confirm('Return ' + m.id + ' to its sender?'))
                run('Bouncing ' + m.id, () => api('POST', path + '/bounce'), refresh);
            }}, 'Bounce'),
            el('button', {type: 'button', class: 'danger delete', onclick: () => {
              if (confirm('Delete ' + m.id + ' for good?'))
                run('Deleting ' + m.id, () => api('DELETE', path), refresh);
            }}, 'Delete'),
            ' ', el('a', {href: '/logs?id=' + encodeURIComponent(m.id)}, 'Log')));
      }), 'The queue is empty.'));
  }

  document.getElementById('refresh').addEventListener('click', () => run('Loading', refresh));
  document.getElementById('flush-all').addEventListener('click', () =>
    run('Retrying every message', () => api('POST', '/api/queue/flush'), refresh));
  await run('Loading', refresh);
});
