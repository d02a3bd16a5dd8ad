// Visite web app: small islands of script on server-rendered pages. Everything
// works without it; it adds live updates of the worklist, "select all", and the
// flow editor's validation as you type. Served from /app/assets (CSP: script-src 'self').

const page = document.body.dataset.page;
const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

function worklist() {
  const rows = document.getElementById('worklist-rows');
  const count = document.getElementById('alert-count');
  const live = document.getElementById('live');
  const selectAll = document.getElementById('select-all');
  selectAll?.addEventListener('change', () => {
    for (const box of document.querySelectorAll('input[name="ids"]')) box.checked = selectAll.checked;
  });
  if (!rows || !('EventSource' in window)) return;
  let refreshing = false;
  const refresh = async () => {
    if (refreshing) return;
    refreshing = true;
    try {
      const res = await fetch(`${rows.dataset.source}${location.search}`, { headers: { accept: 'text/html' }, credentials: 'same-origin' });
      if (res.status === 401) return location.reload();
      if (!res.ok) return;
      // Keep what the person ticked.
      const ticked = new Set([...document.querySelectorAll('input[name="ids"]:checked')].map((b) => b.value));
      rows.innerHTML = await res.text();
      for (const box of document.querySelectorAll('input[name="ids"]')) box.checked = ticked.has(box.value);
      const n = res.headers.get('x-alert-count');
      if (count && n !== null) count.textContent = count.textContent.replace(/\d+/, n);
      if (live) live.textContent = live.dataset.text ?? '';
    } finally {
      refreshing = false;
    }
  };
  const events = new EventSource('/app/events');
  events.addEventListener('alerts', refresh);
}

function editor() {
  const area = document.getElementById('flow-yaml');
  const out = document.getElementById('yaml-problems');
  if (!area || !out) return;
  let timer;
  let seq = 0;
  const validate = async () => {
    const mine = ++seq;
    const res = await fetch(area.dataset.validate, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8', 'x-csrf-token': csrf, accept: 'text/html' },
      credentials: 'same-origin',
      body: area.value,
    });
    if (mine !== seq || !res.ok) return;
    out.innerHTML = await res.text();
  };
  area.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(validate, 400);
  });
  out.addEventListener('click', (event) => {
    const link = event.target.closest('[data-line]');
    if (!link) return;
    event.preventDefault();
    const line = Number(link.dataset.line);
    const col = Number(link.dataset.col || 1);
    const lines = area.value.split('\n');
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    area.focus();
    area.setSelectionRange(offset + col - 1, offset + col - 1);
  });
}

if (page === 'worklist') worklist();
if (page === 'editor') editor();
