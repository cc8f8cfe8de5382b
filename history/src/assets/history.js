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
  var RECEIPT = { none: 'none', pending: 'pending', delivered: 'delivered' };
  var STATE = { staged: 'waiting', shown: 'waiting', cancelled: 'cancelled', read: 'read',
    expired: 'expired', withdrawn: 'withdrawn' };

  function visible() {
    var q = $('search').value.trim().toLowerCase();
    var sev = $('severity').value, st = $('state').value;
    return messages.filter(function (m) {
      return (sev === 'all' || m.severity === sev) &&
        (st === 'all' || STATE[m.state] === st) &&
        (q === '' || (m.title + ' ' + m.sender + ' ' + m.body).toLowerCase().indexOf(q) >= 0);
    });
  }

  function title() {
    var text = tab === 'messages'
      ? 'Herald history \u2014 ' + visible().length + ' of ' + messages.length + ' messages'
      : 'Herald history \u2014 exchange log (' + log.length + ' entries)';
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
      cell(tr, m.severity, 'sev ' + m.severity);
      cell(tr, m.title, 'title');
      cell(tr, when(m.received_at));
      cell(tr, when(m.valid_until), 'muted');
      cell(tr, STATE[m.state]);
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
      p.textContent = 'Select a message to read it.';
      pane.appendChild(p);
      return;
    }
    var h = document.createElement('h2');
    h.textContent = m.title;
    var meta = document.createElement('p');
    meta.className = 'meta';
    meta.textContent = m.severity + ' \u00b7 from ' + m.sender + ' \u00b7 valid ' +
      when(m.valid_from) + ' \u2013 ' + when(m.valid_until) + ' \u00b7 ' + STATE[m.state] +
      (m.note ? ' (' + m.note + ')' : '') + ' \u00b7 receipt ' + RECEIPT[m.receipt];
    var b = document.createElement('div');
    b.className = 'body';
    b.innerHTML = m.body_html;
    var again = document.createElement('button');
    again.id = 'show-again';
    again.type = 'button';
    again.textContent = 'Show again';
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
      box.setAttribute('aria-label', 'select entry ' + e.id);
      td.appendChild(box);
      tr.appendChild(td);
      cell(tr, when(e.at));
      cell(tr, e.ok ? 'ok' : 'failed', e.ok ? '' : 'bad');
      cell(tr, e.kind === 'push' ? 'push stream' : e.kind === 'popup' ? 'popup'
        : e.received + ' in, ' + e.stopped + ' stopped, ' + e.receipts_sent + ' receipts');
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
    if (ids.length === 0) { status('Select entries to delete first.'); return; }
    $('confirm-text').textContent = 'Delete ' + ids.length + ' log entries? This cannot be undone.';
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
