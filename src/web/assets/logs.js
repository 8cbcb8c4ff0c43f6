'use strict';
/* Logs: a queue id's recent log lines, as the server kept them. */
document.addEventListener('DOMContentLoaded', async () => {
  const {api, run} = petrel;
  await petrel.start('logs');
  const id = document.getElementById('id');

  async function show() {
    const r = await api('GET', '/api/logs/' + encodeURIComponent(id.value.trim()));
    document.getElementById('lines').textContent = r.lines.length
      ? r.lines.join('\n') : '(no recent log lines name ' + r.id + ')';
    history.replaceState(null, '', '/logs?id=' + encodeURIComponent(r.id));
  }

  document.getElementById('find').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run('Loading', show);
  });
  const want = petrel.param('id');
  if (want) {
    id.value = want;
    await run('Loading', show);
  }
});
