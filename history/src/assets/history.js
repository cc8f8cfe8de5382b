'use strict';
// The history page. Data comes from herald-history through herald.load();
// requests go back as JSON over window.ipc. Text is always set through
// textContent; only body_html, sanitized by the agent's renderer, is HTML.
var herald = (function () {
  var messages = [], log = [], selectedId = null, tab = 'messages';
  var $ = function (id) { return document.getElementById(id); };
  var post = function (o) { window.ipc.postMessage(JSON.stringify(o)); };
  var pad = function (n) { return (n < 10 ? '0' : '') + n; };
  function when(iso) {
    var d = new Date(iso);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) +
      ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }
  // The window's words, in the user's language (WORDS, set by the window).
  function t(key, holes) {
    var text = WORDS[key] || key;
    Object.keys(holes || {}).forEach(function (h) { text = text.split('{' + h + '}').join(holes[h]); });
    return text;
  }
  var RECEIPT = { none: t('receipt_none'), pending: t('receipt_pending'),
    delivered: t('receipt_delivered') };
  var SEVERITY = { alert: t('alert'), warning: t('warning'), info: t('info') };
  var STATE = { staged: 'waiting', shown: 'waiting', cancelled: 'cancelled', read: 'read',
    expired: 'expired', withdrawn: 'withdrawn' };
  // A message not valid yet is "scheduled", not "waiting".
  function stateOf(m) { return m.scheduled ? 'scheduled' : STATE[m.state]; }
  function stateText(m) {
    return m.scheduled ? t('scheduled_for', { t: when(m.valid_from) }) : t(STATE[m.state]);
  }

  function visible() {
    var q = $('search').value.trim().toLowerCase();
    var sev = $('severity').value, st = $('state').value;
    return messages.filter(function (m) {
      return (sev === 'all' || m.severity === sev) &&
        (st === 'all' || stateOf(m) === st) &&
        (q === '' || (m.title + ' ' + m.sender + ' ' + m.body).toLowerCase().indexOf(q) >= 0);
    });
  }

  function title() {
    var text = tab === 'messages'
      ? t('title_messages', { n: visible().length, m: messages.length })
      : t('title_log', { n: log.length });
    if (document.title !== text) { document.title = text; post({ cmd: 'title', text: text }); }
  }

  function renderMessages() {
    var body = $('messages-rows');
    body.textContent = '';
    visible().forEach(function (m) {
      var tr = document.createElement('tr');
      tr.tabIndex = 0;
      tr.dataset.id = m.id;
      if (m.id === selectedId) { tr.className = 'selected'; }
      cell(tr, SEVERITY[m.severity], 'sev ' + m.severity);
      cell(tr, m.title, 'title');
      cell(tr, when(m.received_at));
      cell(tr, when(m.valid_until), 'muted');
      cell(tr, stateText(m));
      cell(tr, RECEIPT[m.receipt]);
      tr.addEventListener('click', function () { select(m.id, false); });
      tr.addEventListener('keydown', function (e) {
        if (e.key === 'Enter') { e.preventDefault(); select(m.id, true); }
      });
      body.appendChild(tr);
    });
    $('messages-empty').hidden = messages.length > 0;
    renderDetails();
    title();
  }

  function renderDetails() {
    var m = messages.find(function (x) { return x.id === selectedId; });
    var pane = $('details');
    pane.textContent = '';
    if (!m) {
      var p = document.createElement('p');
      p.className = 'empty';
      p.textContent = t('select_message');
      pane.appendChild(p);
      return;
    }
    var h = document.createElement('h2');
    h.textContent = m.title;
    var meta = document.createElement('p');
    meta.className = 'meta';
    meta.textContent = SEVERITY[m.severity] + ' \u00b7 ' + t('from') + ' ' + m.sender + ' \u00b7 ' +
      t('valid') + ' ' + when(m.valid_from) + ' \u2013 ' + when(m.valid_until) + ' \u00b7 ' +
      stateText(m) + (m.note ? ' (' + m.note + ')' : '') + ' \u00b7 ' + t('receipt') + ' ' +
      RECEIPT[m.receipt];
    var b = document.createElement('div');
    b.className = 'body';
    b.innerHTML = m.body_html;
    var again = document.createElement('button');
    again.id = 'show-again';
    again.type = 'button';
    again.textContent = t('show_again');
    again.addEventListener('click', function () { post({ cmd: 'show', id: m.id }); });
    pane.append(h, meta, b, again);
  }

  function select(id, focusAction) {
    selectedId = id;
    renderMessages();
    if (focusAction) { $('show-again').focus(); }
  }

  function renderLog() {
    var body = $('log-rows');
    body.textContent = '';
    var rows = $('oldest-first').checked ? log.slice().reverse() : log;
    rows.forEach(function (e) {
      var tr = document.createElement('tr');
      var td = document.createElement('td');
      var box = document.createElement('input');
      box.type = 'checkbox';
      box.value = e.id;
      box.setAttribute('aria-label', t('select_entry', { n: e.id }));
      td.appendChild(box);
      tr.appendChild(td);
      cell(tr, when(e.at));
      cell(tr, e.ok ? t('ok') : t('failed'), e.ok ? '' : 'bad');
      cell(tr, e.kind === 'push' ? t('push_stream') : e.kind === 'popup' ? t('popup')
        : t('exchanged', { r: e.received, s: e.stopped, c: e.receipts_sent }));
      cell(tr, e.duration_ms + ' ms', 'muted');
      cell(tr, e.error || '', 'title');
      body.appendChild(tr);
    });
    $('log-empty').hidden = log.length > 0;
    title();
  }

  function checked() {
    return Array.prototype.map.call(document.querySelectorAll('#log-rows input:checked'),
      function (b) { return Number(b.value); });
  }

  function askDelete() {
    var ids = checked();
    if (ids.length === 0) { status(t('select_first')); return; }
    $('confirm-text').textContent = t('confirm_delete', { n: ids.length });
    $('confirm').hidden = false;
    $('confirm-yes').focus();
  }

  function showTab(name) {
    tab = name;
    ['messages', 'log'].forEach(function (t) {
      $('tab-' + t).setAttribute('aria-selected', String(t === name));
      $('panel-' + t).hidden = t !== name;
    });
    title();
    (name === 'messages' ? $('search') : $('oldest-first')).focus();
  }

  function status(text) { $('status').textContent = text; }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-t]').forEach(function (el) { el.textContent = t(el.dataset.t); });
    document.querySelectorAll('[data-t-placeholder]').forEach(function (el) {
      el.placeholder = t(el.dataset.tPlaceholder);
    });
    document.querySelectorAll('[data-t-label]').forEach(function (el) {
      el.setAttribute('aria-label', t(el.dataset.tLabel));
    });
    ['search', 'severity', 'state'].forEach(function (id) {
      $(id).addEventListener('input', renderMessages);
    });
    $('search').addEventListener('keydown', function (e) {
      if (e.key === 'Enter') {
        // Not also a click on the button that takes the focus.
        e.preventDefault();
        var first = visible()[0];
        if (first) { select(first.id, true); }
      }
    });
    $('tab-messages').addEventListener('click', function () { showTab('messages'); });
    $('tab-log').addEventListener('click', function () { showTab('log'); });
    $('oldest-first').addEventListener('change', renderLog);
    $('delete').addEventListener('click', askDelete);
    $('confirm-yes').addEventListener('click', function () {
      $('confirm').hidden = true;
      post({ cmd: 'delete', ids: checked() });
    });
    $('confirm-no').addEventListener('click', function () { $('confirm').hidden = true; });
    $('export-csv').addEventListener('click', function () {
      post({ cmd: 'export', format: 'csv', oldest_first: $('oldest-first').checked });
    });
    $('export-json').addEventListener('click', function () {
      post({ cmd: 'export', format: 'json', oldest_first: $('oldest-first').checked });
    });
    document.addEventListener('keydown', function (e) {
      if (e.altKey && e.key === '1') { e.preventDefault(); showTab('messages'); }
      if (e.altKey && e.key === '2') { e.preventDefault(); showTab('log'); }
      if (tab !== 'log') { return; }
      if (e.ctrlKey && e.key === 'a' && e.target.type !== 'search') {
        e.preventDefault();
        document.querySelectorAll('#log-rows input').forEach(function (b) { b.checked = true; });
      }
      if (e.key === 'Delete') { e.preventDefault(); askDelete(); }
      if (e.key === 'Escape') { $('confirm').hidden = true; }
    });
    $('search').focus();
    post({ cmd: 'ready' });
  });

  return {
    load: function (data) {
      messages = data.messages;
      log = data.log;
      if (!messages.some(function (m) { return m.id === selectedId; })) { selectedId = null; }
      renderMessages();
      renderLog();
    },
    status: status
  };
})();
