'use strict';
/*
 * common.js - what every logged-in page shares: the session (and its
 * CSRF token), API calls, the navigation bar, and small DOM helpers.
 * Everything shown goes in as text (textContent, text nodes): nothing a
 * message, an address or a log line contains is ever parsed as HTML.
 */
const petrel = (() => {
  let csrf = null;
  let me = null;

  const PAGES = [
    ['dashboard', 'Dashboard'], ['domains', 'Domains'], ['users', 'Users'],
    ['aliases', 'Aliases'], ['queue', 'Queue'], ['badmail', 'Badmail'],
    ['dns', 'DNS'], ['logs', 'Logs'], ['password', 'Password'],
  ];

  /* el - an element with attributes (on* = listeners) and children;
   * strings become text nodes. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function status(msg, kind) {
    const s = document.getElementById('status');
    if (!s) return;
    s.textContent = msg || '';
    s.className = kind || '';
  }

  async function api(method, path, body) {
    const opt = {method, credentials: 'same-origin', headers: {}};
    if (method !== 'GET') opt.headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(path, opt);
    let data = null;
    try { data = await r.json(); } catch (e) { /* no JSON body */ }
    if (r.status === 401) {
      location.href = '/login';
      throw new Error('logged out');
    }
    if (!r.ok) throw new Error((data && data.error) || r.statusText);
    return data;
  }

  /* run - do an action, say how it went, refresh. */
  async function run(what, fn, refresh) {
    status(what + '…');
    try {
      await fn();
      status(what + ': done', 'ok');
      if (refresh) await refresh();
    } catch (e) {
      status(what + ': ' + e.message, 'error');
    }
  }

  async function logout() {
    try { await api('POST', '/api/logout'); } catch (e) { /* gone */ }
    location.href = '/login';
  }

  function nav(current) {
    const top = document.getElementById('top');
    const links = PAGES.filter(([p]) => me.admin || p === 'password');
    top.replaceChildren(
      el('span', {class: 'brand'}, 'petrel'),
      ...links.map(([p, name]) => el('a', {
        href: '/' + p, class: p === current ? 'current' : null, id: 'nav-' + p,
      }, name)),
      el('span', {class: 'who', id: 'who'}, me.address),
      el('button', {id: 'logout', type: 'button', onclick: logout}, 'Log out'));
  }

  /* start - on every page: who am I (or off to /login), the nav bar. */
  async function start(page) {
    const r = await fetch('/api/session', {credentials: 'same-origin'});
    if (!r.ok) {
      location.href = '/login';
      throw new Error('not logged in');
    }
    me = await r.json();
    csrf = me.csrf;
    nav(page);
    return me;
  }

  function table(headers, rows, empty) {
    if (rows.length === 0) return el('p', {class: 'muted'}, empty || 'None.');
    return el('table', {},
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
      el('tbody', {}, rows));
  }

  function age(sec) {
    sec = Math.max(0, Math.round(sec));
    if (sec < 120) return sec + 's';
    if (sec < 7200) return Math.floor(sec / 60) + 'm';
    if (sec < 172800) return Math.floor(sec / 3600) + 'h';
    return Math.floor(sec / 86400) + 'd';
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + ' B';
    if (bytes < 1048576) return (bytes / 1024).toFixed(1) + ' KiB';
    return (bytes / 1048576).toFixed(1) + ' MiB';
  }

  function when(epoch) {
    return new Date(epoch * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }

  /* domains - fill a <select> with the hosted domains (after "all"). */
  async function domains(select, all) {
    const {domains: list} = await api('GET', '/api/domains');
    select.replaceChildren(...(all ? [el('option', {value: ''}, 'all')] : []),
      ...list.map((d) => el('option', {value: d.name}, d.name)));
  }

  function param(name) {
    return new URLSearchParams(location.search).get(name);
  }

  return {el, api, run, start, status, table, age, size, when, param, domains};
})();
