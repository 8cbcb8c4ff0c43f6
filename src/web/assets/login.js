'use strict';
/* The login form: POST /api/login, then off to the right page. */
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('login');
  const status = document.getElementById('status');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    status.textContent = 'Checking…';
    status.className = '';
    document.getElementById('submit').disabled = true;
    try {
      const r = await fetch('/api/login', {
        method: 'POST',
        credentials: 'same-origin',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({
          address: document.getElementById('address').value,
          password: document.getElementById('password').value,
        }),
      });
      let data = {};
      try { data = await r.json(); } catch (e) { /* not JSON */ }
      if (!r.ok) throw new Error(data.error || r.statusText);
      location.href = data.admin ? '/dashboard' : '/password';
    } catch (e) {
      status.textContent = e.message;
      status.className = 'error';
      document.getElementById('password').value = '';
    } finally {
      document.getElementById('submit').disabled = false;
    }
  });
});
