'use strict';
// Wharf live sessions page. No framework, no network but the admin API of this origin.
// Token: asked once (or taken from #token=… in the URL), kept in sessionStorage, sent as
// "Authorization: Bearer". A page opened as /?token=… is authenticated by the server's
// HttpOnly cookie instead: then no header is needed (cookie mode).
// Events: fetch + ReadableStream (EventSource cannot send headers).

(() => {
  const TOKEN_KEY = 'wharf.adminToken';
  const MAX_ENDED = 200;
  const MIN_RENDER_GAP_MS = 250; // at most ~4 redraws a second
  const $ = (sel) => document.querySelector(sel);

  let token = null;
  let cookieMode = false;
  let lastEventId = null;
  let streamController = null;
  let generation = 0; // bumps when the token changes; stale loops stop
  const live = new Map(); // sessionId -> { s: session, at: ms when received }
  const sites = new Map(); // name -> site object from /api/v1/sites
  let ended = []; // newest first
  let renderTimer = null;
  let lastRender = 0;
  let pendingTerminate = null;

  // ---------------------------------------------------------------- formatting
  function bytes(n) {
    n = Number(n) || 0;
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let v = n / 1024, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[i];
  }
  function duration(sec) {
    sec = Math.max(0, Math.floor(Number(sec) || 0));
    const d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600),
      m = Math.floor(sec % 3600 / 60), s = sec % 60;
    const p = (x) => String(x).padStart(2, '0');
    if (d > 0) return d + 'd' + p(h) + 'h';
    if (h > 0) return h + 'h' + p(m) + 'm';
    if (m > 0) return m + 'm' + p(s) + 's';
    return s + 's';
  }
  function since(iso, now) {
    if (!iso) return null;
    const t = Date.parse(iso);
    return Number.isNaN(t) ? null : Math.max(0, (now - t) / 1000);
  }
  function clock(iso) {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? '' : new Date(t).toLocaleTimeString();
  }
  function idleSeconds(entry, now) {
    const s = entry.s;
    let idle = Number(s.idleSeconds) || 0;
    if (s.state === 'idle' || s.state === 'authenticating') idle += (now - entry.at) / 1000;
    return idle;
  }

  // ---------------------------------------------------------------- status and notices
  function setStatus(text, cls) {
    const el = $('#status');
    el.textContent = text;
    el.className = 'status' + (cls ? ' ' + cls : '');
  }
  let noticeTimer = null;
  function notice(text, isError) {
    const el = $('#notice');
    el.textContent = text;
    el.className = 'notice' + (isError ? ' error' : '');
    el.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { el.hidden = true; }, 8000);
  }

  // ---------------------------------------------------------------- token
  function readTokenFromHash() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!m) return null;
    history.replaceState(null, '', location.pathname + location.search);
    try { return decodeURIComponent(m[1]); } catch (_) { return m[1]; }
  }
  function showLogin(message) {
    generation++;
    if (streamController) streamController.abort();
    streamController = null;
    token = null;
    cookieMode = false;
    sessionStorage.removeItem(TOKEN_KEY);
    $('#login').hidden = false;
    $('#forget-token').hidden = true;
    $('#token-error').textContent = message || '';
    setStatus('not connected', 'down');
    $('#token-input').focus();
  }
  function useToken(t) {
    token = t.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#login').hidden = true;
    $('#forget-token').hidden = false;
    start();
  }

  class Unauthorized extends Error {}

  async function api(path, options) {
    options = options || {};
    const headers = Object.assign({ Accept: 'application/json' }, options.headers || {});
    if (token) headers.Authorization = 'Bearer ' + token;
    const response = await fetch(path, Object.assign({}, options,
      { headers, cache: 'no-store', credentials: 'same-origin' }));
    if (response.status === 401) {
      showLogin('The server refused this token. Check the token file and try again.');
      throw new Unauthorized('401');
    }
    return response;
  }
  async function errorText(response) {
    try {
      const body = await response.json();
      if (body && body.error) return body.error;
    } catch (_) { /* not JSON */ }
    return 'HTTP ' + response.status;
  }

  // ---------------------------------------------------------------- data
  async function loadSites() {
    const response = await api('/api/v1/sites');
    if (!response.ok) throw new Error(await errorText(response));
    const body = await response.json();
    sites.clear();
    for (const site of body.sites || []) sites.set(site.name, site);
    scheduleRender();
  }
  async function loadEnded() {
    const response = await api('/api/v1/sessions/ended');
    if (!response.ok) throw new Error(await errorText(response));
    const body = await response.json();
    const list = (body.sessions || []).slice().reverse(); // API: oldest first
    const known = new Set(list.map((s) => s.sessionId + '|' + s.endTime));
    // Keep events that arrived while loading.
    for (const s of ended) if (!known.has(s.sessionId + '|' + s.endTime)) list.unshift(s);
    ended = list.slice(0, MAX_ENDED);
    scheduleRender();
  }

  function applyEvent(type, data) {
    const now = Date.now();
    if (type === 'snapshot') {
      live.clear();
      for (const s of data.sessions || []) live.set(s.sessionId, { s, at: now });
    } else if (type === 'session.started' || type === 'session.updated') {
      live.set(data.sessionId, { s: data, at: now });
      if (data.siteName && !sites.has(data.siteName)) loadSites().catch(() => {});
    } else if (type === 'session.ended') {
      live.delete(data.sessionId);
      ended = [data].concat(ended.filter((s) => s.sessionId !== data.sessionId)).slice(0, MAX_ENDED);
    } else {
      return;
    }
    scheduleRender();
  }

  // Reads the SSE stream with fetch; reconnects with Last-Event-ID.
  async function streamEvents(gen) {
    let delay = 500;
    while (gen === generation) {
      const controller = new AbortController();
      streamController = controller;
      try {
        setStatus(lastEventId ? 'reconnecting…' : 'connecting…');
        const headers = { Accept: 'text/event-stream' };
        if (lastEventId) headers['Last-Event-ID'] = lastEventId;
        const response = await api('/api/v1/events', { headers, signal: controller.signal });
        if (!response.ok || !response.body) throw new Error(await errorText(response));
        setStatus('live', 'live');
        delay = 500;
        await readStream(response.body, gen);
        if (gen === generation) setStatus('stream closed; reconnecting…', 'down');
      } catch (e) {
        if (e instanceof Unauthorized || gen !== generation) return;
        setStatus('disconnected (' + (e.message || e) + '); retrying…', 'down');
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }

  async function readStream(body, gen) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let event = { type: '', data: null, id: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done || gen !== generation) return;
      buffer += decoder.decode(value, { stream: true });
      let match;
      while ((match = /\r\n|\r|\n/.exec(buffer)) !== null) {
        // A lone \r at the end may be half of \r\n: wait for more.
        if (match[0] === '\r' && match.index === buffer.length - 1) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (event.data !== null) {
            if (event.id !== null) lastEventId = event.id;
            try {
              applyEvent(event.type || 'message', JSON.parse(event.data));
            } catch (e) {
              console.warn('bad event', e);
            }
          }
          event = { type: '', data: null, id: null };
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? '' : line.slice(colon + 1);
        if (val.startsWith(' ')) val = val.slice(1);
        if (field === 'event') event.type = val;
        else if (field === 'data') event.data = event.data === null ? val : event.data + '\n' + val;
        else if (field === 'id') event.id = val;
      }
    }
  }

  async function start() {
    const gen = ++generation;
    lastEventId = null;
    try {
      await Promise.all([loadSites(), loadEnded()]);
    } catch (e) {
      if (e instanceof Unauthorized) return;
      notice('Could not load: ' + (e.message || e), true);
    }
    streamEvents(gen);
  }

  // ---------------------------------------------------------------- rendering
  function scheduleRender() {
    if (renderTimer !== null) return;
    const wait = Math.max(0, MIN_RENDER_GAP_MS - (Date.now() - lastRender));
    renderTimer = setTimeout(() => { renderTimer = null; render(); }, wait);
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') node.textContent = v;
      else if (k === 'class') node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children || []) node.append(c);
    return node;
  }
  function setText(node, text) {
    text = text === undefined || text === null ? '' : String(text);
    if (node.textContent !== text) node.textContent = text;
  }
  function setAttr(node, name, value) {
    value = String(value);
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }

  const COLUMNS = [
    ['User', 'userName'], ['Client', 'clientIp'], ['State', 'state'], ['Command', 'currentCommand'],
    ['Previous', 'previousCommand'], ['Command age', 'commandAge', 'num'], ['Idle', 'idle', 'num'],
    ['Sent', 'bytesSent', 'num'], ['Received', 'bytesReceived', 'num'], ['Transfer', 'transfer', 'transfer'],
  ];

  function siteSection(name) {
    const id = 'site-' + encodeURIComponent(name);
    let section = document.getElementById(id);
    if (section) return section;
    const head = el('tr', {}, COLUMNS.map(([label, , cls]) => el('th', { class: cls || '', text: label }))
      .concat([el('th', { text: '' })]));
    section = el('section', { class: 'site', id, 'data-site': name }, [
      el('h2', {}, [
        el('span', { text: name }),
        el('span', { class: 'meta', 'data-field': 'siteMeta' }),
      ]),
      el('table', { class: 'sessions live' }, [el('thead', {}, [head]), el('tbody')]),
      el('p', { class: 'empty', text: 'No sessions.' }),
    ]);
    $('#live').append(section);
    return section;
  }

  function sessionRow(id) {
    const cells = COLUMNS.map(([label, field, cls]) => {
      const cell = el('span', { class: 'cell', 'data-field': field });
      if (field === 'transfer') {
        cell.append(el('div', { class: 'bar', 'data-field': 'progress' }, [el('div', { class: 'fill' })]),
          el('span', { 'data-field': 'transferText' }));
      }
      if (field === 'currentCommand' || field === 'previousCommand') cell.classList.add('mono');
      return el('td', { class: cls || '', 'data-label': label }, [cell]);
    });
    const button = el('button', { type: 'button', class: 'danger', 'data-action': 'terminate', text: 'Terminate' });
    button.addEventListener('click', () => askTerminate(id));
    cells.push(el('td', { class: 'actions', 'data-label': '' }, [button]));
    return el('tr', { 'data-session-id': id }, cells);
  }

  function fillRow(row, entry, now) {
    const s = entry.s;
    const f = (name) => row.querySelector('[data-field="' + name + '"]');
    setText(f('userName'), s.userName || '(not logged in)');
    setText(f('clientIp'), s.clientIp + (s.clientPort ? ':' + s.clientPort : ''));
    const state = f('state');
    setText(state, s.state);
    setAttr(state, 'class', 'cell state state-' + s.state);
    setText(f('currentCommand'), s.currentCommand);
    setText(f('previousCommand'), s.previousCommand);
    const age = since(s.commandStartTime, now);
    setText(f('commandAge'), age === null ? '' : duration(age));
    setText(f('idle'), duration(idleSeconds(entry, now)));
    for (const field of ['bytesSent', 'bytesReceived']) {
      const cell = f(field);
      setText(cell, bytes(s[field]));
      setAttr(cell, 'data-value', Number(s[field]) || 0);
      setAttr(cell, 'title', (Number(s[field]) || 0) + ' bytes');
    }
    const bar = f('progress');
    const text = f('transferText');
    const t = s.transfer;
    if (t) {
      bar.hidden = false;
      const known = typeof t.size === 'number' && t.size > 0;
      setAttr(bar, 'class', known ? 'bar' : 'bar unknown');
      const pct = known ? Math.min(100, Math.floor(t.bytes * 100 / t.size)) : null;
      bar.firstChild.style.width = known ? pct + '%' : '';
      const arrow = t.direction === 'upload' ? '↑' : '↓';
      const amount = known ? bytes(t.bytes) + ' of ' + bytes(t.size) + ' (' + pct + '%)' : bytes(t.bytes);
      setText(text, arrow + ' ' + t.path + ' · ' + amount + ' · ' + bytes(t.bytesPerSecond) + '/s');
      setAttr(text, 'data-value', t.bytes);
      setAttr(text, 'data-rate', t.bytesPerSecond);
    } else {
      bar.hidden = true;
      setText(text, '');
      text.removeAttribute('data-value');
      text.removeAttribute('data-rate');
    }
  }

  function render() {
    lastRender = Date.now();
    const now = Date.now();
    const bySite = new Map();
    for (const name of sites.keys()) bySite.set(name, []);
    for (const entry of live.values()) {
      const name = entry.s.siteName || '(unknown site)';
      if (!bySite.has(name)) bySite.set(name, []);
      bySite.get(name).push(entry);
    }
    for (const [name, entries] of bySite) {
      const section = siteSection(name);
      const site = sites.get(name);
      const meta = [];
      if (site) {
        meta.push('id ' + site.id, site.state);
        if (site.bindings && site.bindings.length) meta.push(site.bindings.join(', '));
      }
      meta.push(entries.length + (entries.length === 1 ? ' session' : ' sessions'));
      setText(section.querySelector('[data-field="siteMeta"]'), meta.join(' · '));
      const tbody = section.querySelector('tbody');
      entries.sort((a, b) => (a.s.sessionStartTime || '').localeCompare(b.s.sessionStartTime || '')
        || a.s.sessionId.localeCompare(b.s.sessionId));
      const keep = new Set();
      let previous = null;
      for (const entry of entries) {
        const id = entry.s.sessionId;
        keep.add(id);
        let row = tbody.querySelector('tr[data-session-id="' + CSS.escape(id) + '"]');
        if (!row) row = sessionRow(id);
        fillRow(row, entry, now);
        const expected = previous ? previous.nextSibling : tbody.firstChild;
        if (row !== expected) tbody.insertBefore(row, expected);
        previous = row;
      }
      for (const row of Array.from(tbody.children)) {
        if (!keep.has(row.getAttribute('data-session-id'))) row.remove();
      }
      section.querySelector('.empty').hidden = entries.length > 0;
      section.querySelector('table').hidden = entries.length === 0;
    }
    for (const section of Array.from(document.querySelectorAll('#live > section'))) {
      if (!bySite.has(section.getAttribute('data-site'))) section.remove();
    }
    renderEnded(now);
  }

  function renderEnded(now) {
    const section = $('#ended-section');
    section.hidden = ended.length === 0;
    setText(section.querySelector('[data-field="endedCount"]'), ended.length ? '(' + ended.length + ')' : '');
    const tbody = section.querySelector('tbody');
    const key = ended.map((s) => s.sessionId + '|' + s.endTime).join(',');
    if (tbody.getAttribute('data-key') === key) return;
    tbody.setAttribute('data-key', key);
    const rows = ended.map((s) => {
      const started = Date.parse(s.sessionStartTime), stopped = Date.parse(s.endTime);
      const lasted = Number.isNaN(started) || Number.isNaN(stopped) ? '' : duration((stopped - started) / 1000);
      let reason = s.endReason || '';
      if (s.terminatedBy) reason += ' by ' + s.terminatedBy;
      const cell = (label, field, text, cls) =>
        el('td', { class: cls || '', 'data-label': label }, [el('span', { class: 'cell', 'data-field': field, text })]);
      const reasonCell = el('td', { 'data-label': 'Reason' }, [el('span', { class: 'cell' }, [
        el('span', { 'data-field': 'endReason', text: reason }),
        el('span', { class: 'sub', 'data-field': 'terminateReason', text: s.terminateReason || '' }),
      ])]);
      return el('tr', { 'data-session-id': s.sessionId }, [
        cell('Ended', 'endTime', clock(s.endTime)),
        cell('User', 'userName', s.userName || '(not logged in)'),
        cell('Client', 'clientIp', s.clientIp),
        cell('Site', 'siteName', s.siteName),
        reasonCell,
        cell('Lasted', 'lasted', lasted),
        cell('Sent', 'bytesSent', bytes(s.bytesSent), 'num'),
        cell('Received', 'bytesReceived', bytes(s.bytesReceived), 'num'),
        cell('Last reply', 'lastErrorStatus', s.lastErrorStatus, 'num'),
      ]);
    });
    tbody.replaceChildren(...rows);
  }

  // ---------------------------------------------------------------- terminate
  function askTerminate(id) {
    const entry = live.get(id);
    pendingTerminate = id;
    const s = entry ? entry.s : { sessionId: id };
    $('#terminate-target').textContent = (s.userName || '(not logged in)') + ' from ' + (s.clientIp || '?')
      + ' on ' + (s.siteName || '?') + ' — session ' + id;
    $('#terminate-reason').value = '';
    const dialog = $('#terminate-dialog');
    if (!dialog.open) dialog.showModal();
    $('#terminate-reason').focus();
  }

  async function confirmTerminate() {
    const id = pendingTerminate;
    pendingTerminate = null;
    $('#terminate-dialog').close();
    if (!id) return;
    const entry = live.get(id);
    const site = entry ? entry.s.siteName : null;
    if (!site) { notice('Session ' + id + ' has already ended.'); return; }
    const reason = $('#terminate-reason').value.trim();
    const row = document.querySelector('#live tr[data-session-id="' + CSS.escape(id) + '"]');
    const button = row && row.querySelector('[data-action="terminate"]');
    if (button) button.disabled = true;
    if (row) row.classList.add('leaving');
    try {
      const response = await api('/api/v1/sites/' + encodeURIComponent(site) + '/sessions/'
        + encodeURIComponent(id) + '/terminate', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Wharf-Actor': 'page' },
        body: JSON.stringify(reason ? { reason } : {}),
      });
      if (!response.ok) throw new Error(await errorText(response));
      const body = await response.json();
      // 202 (pending) carries the live record: the session.ended event will follow.
      if (body.session && (body.terminated || body.alreadyEnded)) applyEvent('session.ended', body.session);
      notice(body.terminated ? 'Terminated session ' + id + (reason ? ': ' + reason : '')
        : body.alreadyEnded ? 'Session ' + id + ' had already ended.'
          : 'Termination of ' + id + ' requested.');
    } catch (e) {
      if (e instanceof Unauthorized) return;
      notice('Could not terminate ' + id + ': ' + (e.message || e), true);
      if (button) button.disabled = false;
      if (row) row.classList.remove('leaving');
    }
  }

  // ---------------------------------------------------------------- wiring
  $('#token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('#token-input').value;
    $('#token-input').value = '';
    if (value.trim()) useToken(value);
  });
  $('#forget-token').addEventListener('click', () => showLogin(''));
  $('#terminate-form').addEventListener('submit', (e) => { e.preventDefault(); confirmTerminate(); });
  $('#terminate-cancel').addEventListener('click', () => { pendingTerminate = null; $('#terminate-dialog').close(); });
  $('#terminate-dialog').addEventListener('close', () => { pendingTerminate = null; });
  setInterval(() => { if (token || cookieMode) render(); }, 1000);

  // Cookie mode: the server set its HttpOnly cookie (the page was opened as /?token=…).
  async function probeCookie() {
    try {
      const response = await fetch('/api/v1/sites', { cache: 'no-store', credentials: 'same-origin' });
      return response.ok;
    } catch (_) {
      return false;
    }
  }

  const fromHash = readTokenFromHash();
  const saved = fromHash || sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    useToken(saved);
  } else {
    setStatus('checking…');
    probeCookie().then((ok) => {
      if (!ok) { showLogin(''); return; }
      cookieMode = true;
      $('#login').hidden = true;
      start();
    });
  }
})();
