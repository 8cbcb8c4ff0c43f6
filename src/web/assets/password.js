'use strict';
/* Password: any logged-in account changes its own (POST /api/password). */
document.addEventListener('DOMContentLoaded', async () => {
  const me = await petrel.start('password');
  document.getElementById('me').textContent = me.address;
  document.getElementById('pw').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const current = document.getElementById('current');
    const fresh = document.getElementById('new');
    const again = document.getElementById('again');
    if (fresh.value !== again.value) {
      petrel.status('The two new passwords differ', 'error');
      return;
    }
    petrel.run('Changing the password', async () => {
      await petrel.api('POST', '/api/password',
        {current: current.value, password: fresh.value});
      current.value = fresh.value = again.value = '';
    });
  });
});
