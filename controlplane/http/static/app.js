// Rampart dashboard: polls the HTTP API for the record (contracts, history, edges) and
// follows the WebSocket stream for live rates, transitions and newly denied edges.
// Plain ES module, no build step. Only the API paths of product.md are used.
import { drawChart } from './chart.js';
import { renderFix } from './fix.js';
import { renderBroadening } from './broadening.js';

const WINDOW_MS = 5 * 60_000;
const POLL_MS = 2000;
const MAX_POINTS = 2000;
const MAX_EVENTS = 200;

const state = {
  token: localStorage.getItem('rampart.token') || new URLSearchParams(location.search).get('token') || '',
  contracts: new Map(), // name -> contract JSON
  views: new Map(), // name -> { el, points, history, edges, lastEvidence, streamAt }
  agents: null,
  streamLive: false,
};

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};
const fmtTime = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
const toMs = (v) => (typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN);
const pct = (r) => `${(r * 100).toFixed(r > 0 && r < 0.001 ? 3 : 2)}%`;

function headers(extra = {}) {
  const h = { accept: 'application/json', ...extra };
  if (state.token) h.authorization = `Bearer ${state.token}`;
  return h;
}

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: headers(init.headers) });
  if (res.status === 401 || res.status === 403) {
    banner('The control plane wants a bearer token: enter it at the top right.', 'warn');
    throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
  }
  if (!res.ok) {
    // The API explains refusals: {"error":{"code","message"}}.
    let detail = `HTTP ${res.status}`;
    try {
      const body = await res.json();
      if (body?.error?.message) detail = `${body.error.message} (HTTP ${res.status})`;
    } catch {
      // not JSON: the status says enough
    }
    throw Object.assign(new Error(detail), { status: res.status });
  }
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

let errorShownUntil = 0;
function banner(text, kind = 'warn') {
  const b = $('#banner');
  // An error the user just caused (a refused action) stays readable for a few seconds.
  if (kind !== 'error' && Date.now() < errorShownUntil) return;
  if (kind === 'error') errorShownUntil = Date.now() + 6000;
  b.textContent = text;
  b.className = `banner ${kind}`;
  b.hidden = !text;
  if (kind === 'ok') setTimeout(() => { if (b.textContent === text) b.hidden = true; }, 4000);
}

// ---- the record: contracts, history, edges ------------------------------------------------

async function poll() {
  try {
    const body = await api('/api/v1/contracts');
    const items = Array.isArray(body.items) ? body.items : [];
    const now = Date.now();
    for (const c of items) {
      state.contracts.set(c.name, c);
      const v = view(c.name);
      derivePoint(v, c, now);
    }
    for (const name of [...state.views.keys()]) {
      if (!items.some((c) => c.name === name)) {
        state.views.get(name).el.remove();
        state.views.delete(name);
        state.contracts.delete(name);
      }
    }
    $('#empty').hidden = items.length > 0;
    if (items.length === 0) $('#empty').textContent = 'no contracts: add RampContract files to the contracts folder';
    if ($('#banner').classList.contains('error') && Date.now() >= errorShownUntil) banner('');
    await Promise.all(items.map((c) => loadDetails(c.name)));
    await loadAgents();
    render();
  } catch (e) {
    if (!e.status) banner(`control plane unreachable: ${e.message}`, 'error');
  }
}

async function loadDetails(name) {
  const v = view(name);
  const enc = encodeURIComponent(name);
  const [history, edges] = await Promise.allSettled([api(`/api/v1/contracts/${enc}/history`), api(`/api/v1/contracts/${enc}/edges`)]);
  if (history.status === 'fulfilled') v.history = history.value.items ?? [];
  if (edges.status === 'fulfilled') v.edges = edges.value.items ?? [];
}

let agentsEndpoint = true;
async function loadAgents() {
  if (!agentsEndpoint) return;
  try {
    state.agents = await api('/api/v1/agents');
  } catch (e) {
    // Optional endpoint: without it, coverage still shows from each contract's evidence.
    state.agents = null;
    if (e.status === 404) agentsEndpoint = false;
  }
}

function view(name) {
  let v = state.views.get(name);
  if (v) return v;
  const node = $('#contract-template').content.firstElementChild.cloneNode(true);
  node.dataset.contract = name;
  for (const b of node.querySelectorAll('button[data-action]')) b.addEventListener('click', () => act(name, b));
  $('#contracts').append(node);
  v = { el: node, points: [], history: [], edges: [], lastEvidence: null, streamAt: 0 };
  state.views.set(name, v);
  return v;
}

/** Rates from evidence deltas between polls: the fallback when the stream sends no rates. */
function derivePoint(v, c, now) {
  const e = c.evidence ?? {};
  const cur = { t: now, flows: e.flows ?? 0, deny: e.deny ?? 0, actual: e.actualDenies ?? 0, stage: c.stage?.index ?? 0 };
  const prev = v.lastEvidence;
  v.lastEvidence = cur;
  if (!prev || now - v.streamAt < 5000) return;
  const dt = (now - prev.t) / 1000;
  if (dt <= 0) return;
  const sameStage = prev.stage === cur.stage;
  const dFlows = sameStage ? Math.max(0, cur.flows - prev.flows) : cur.flows;
  const dDeny = sameStage ? Math.max(0, cur.deny - prev.deny) : cur.deny;
  const dActual = sameStage ? Math.max(0, cur.actual - prev.actual) : cur.actual;
  pushPoint(v, { t: now, ratio: dFlows > 0 ? dDeny / dFlows : null, actualPerSec: dActual / dt, flowsPerSec: dFlows / dt, stageIndex: cur.stage, stageName: c.stage?.name ?? '' });
}

function pushPoint(v, p) {
  v.points.push(p);
  if (v.points.length > MAX_POINTS) v.points.splice(0, v.points.length - MAX_POINTS);
}

// ---- the stream ----------------------------------------------------------------------------

function connectStream() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = state.token ? `?token=${encodeURIComponent(state.token)}` : '';
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/stream${q}`);
  setLive('connecting');
  ws.addEventListener('open', () => setLive('live'));
  ws.addEventListener('message', (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    for (const m of Array.isArray(msg) ? msg : [msg]) onStreamMessage(m);
  });
  ws.addEventListener('close', () => {
    setLive('down');
    setTimeout(connectStream, 2000);
  });
}

function setLive(s) {
  state.streamLive = s === 'live';
  $('#live').dataset.state = s;
  $('#live-text').textContent = s === 'live' ? 'live' : s === 'down' ? 'stream down, retrying' : 'connecting';
}

/** The stream's message kinds (docs/api.md): snapshot, rates, transition, edge. */
function onStreamMessage(m) {
  const when = Number.isFinite(toMs(m.at)) ? toMs(m.at) : Date.now();
  switch (m.type) {
    case 'snapshot':
      for (const c of m.contracts ?? []) state.contracts.set(c.name, c);
      scheduleRender();
      return;
    case 'rates':
      for (const r of m.contracts ?? []) {
        const v = view(r.name);
        v.streamAt = Date.now();
        // Counted on the element so a test (or a curious SRE) can see the stream is flowing.
        v.el.dataset.streamPoints = String(Number(v.el.dataset.streamPoints ?? 0) + 1);
        const flows = num(r.flowsPerSecond);
        pushPoint(v, {
          t: when,
          ratio: flows > 0 ? num(r.denyPerSecond) / flows : null,
          actualPerSec: num(r.actualDeniesPerSecond),
          flowsPerSec: flows,
          stageIndex: r.stage?.index ?? 0,
          stageName: r.stage?.name ?? '',
        });
      }
      scheduleRender();
      return;
    case 'transition': {
      const reasons = m.reasons ?? [];
      const kind = typeof m.decision === 'string' ? m.decision : m.decision?.kind ?? '';
      addEvent('transition', when, `${m.contract}: ${m.from ?? '–'} → ${m.to} ${m.phase} (${kind}${m.actor && m.actor !== 'auto' ? ` by ${m.actor}` : ''})${reasons[0] ? ` · ${reasons[0]}` : ''}`);
      void poll();
      return;
    }
    case 'edge': {
      const e = m.edge ?? {};
      const actual = e.kind === 'actual-deny';
      const what = actual ? 'DENIED' : e.kind === 'newly-allowed' ? 'would newly allow' : 'would deny';
      addEvent(actual ? 'deny' : 'would', when, `${m.contract}: ${what} ${e.from} → ${e.to}:${e.port}/${e.protocol}`);
      return;
    }
    default:
      return;
  }
}
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function addEvent(kind, t, text) {
  const list = $('#events');
  list.prepend(el('li', { class: kind }, el('time', { text: fmtTime(t) }), text));
  while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
}

// ---- actions ---------------------------------------------------------------------------------

async function act(name, button) {
  const action = button.dataset.action;
  if (action === 'rollback' && !button.classList.contains('confirm')) {
    button.classList.add('confirm');
    button.textContent = 'Confirm rollback';
    setTimeout(() => { button.classList.remove('confirm'); button.textContent = 'Rollback'; }, 4000);
    return;
  }
  button.classList.remove('confirm');
  if (action === 'rollback') button.textContent = 'Rollback';
  try {
    await api(`/api/v1/contracts/${encodeURIComponent(name)}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    banner(`${action} ${name}: accepted`, 'ok');
    addEvent('transition', Date.now(), `${name}: ${action} requested`);
  } catch (e) {
    if (e.status === 401 || e.status === 403) banner(`${action} ${name}: refused, the token is missing or wrong`, 'error');
    else banner(`${action} ${name}: ${e.message}`, 'error');
  }
  await poll();
}

// ---- rendering -------------------------------------------------------------------------------

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  const now = Date.now();
  let reporting = 0;
  let expected = 0;
  const phases = {};
  for (const [name, c] of state.contracts) {
    const v = view(name);
    renderContract(v, c, now);
    phases[c.phase] = (phases[c.phase] ?? 0) + 1;
    expected = Math.max(expected, c.evidence?.nodes?.expected ?? 0);
    reporting = Math.max(reporting, c.evidence?.nodes?.reporting ?? 0);
  }
  const summary = $('#summary');
  summary.replaceChildren(
    el('span', {}, el('b', { text: String(state.contracts.size) }), ' contracts'),
    ...Object.entries(phases).map(([p, n]) => el('span', {}, el('b', { text: String(n) }), ` ${p}`)),
    el('span', {}, el('b', { text: `${reporting}/${expected}` }), ' nodes reporting'),
  );
  renderAgents(reporting, expected);
}

function renderContract(v, c, now) {
  const root = v.el;
  root.dataset.phase = c.phase;
  $('.name', root).textContent = c.name;
  $('.rev', root).textContent = `rev ${c.revision}`;
  $('.stage', root).textContent = `${c.stage?.name ?? '?'} (${(c.stage?.index ?? 0) + 1}/${stagesOf(c).length || '?'})`;
  const phase = $('.phase', root);
  phase.textContent = c.phase;
  phase.dataset.phase = c.phase;
  renderFix(root, c, api);
  renderBroadening(root, c, api);

  const d = c.decision ?? {};
  const dec = $('.decision', root);
  const reasons = d.reasons ?? [];
  dec.replaceChildren(
    el('span', { class: `kind ${d.kind ?? ''}`, text: d.kind ?? 'no decision yet' }),
    el('span', { class: 'muted', text: c.updatedAt ? `as of ${fmtTime(toMs(c.updatedAt))}` : '' }),
    el('ul', {}, ...reasons.slice(0, 4).map((r) => el('li', { text: r }))),
  );
  if (Array.isArray(c.problems) && c.problems.length) {
    dec.append(el('ul', {}, ...c.problems.map((p) => el('li', { class: 'deny', text: `${p.path}: ${p.message}` }))));
  }
  // Where Cilium enforces one of the contract's NetworkPolicies other than its text (never blocking).
  if (Array.isArray(c.warnings) && c.warnings.length) {
    dec.append(el('ul', { class: 'cilium-warnings' }, ...c.warnings.map((w) => el('li', { class: 'muted', text: `Cilium: ${w.path}: ${w.message}` }))));
  }

  renderGates(root, Array.isArray(c.gates) ? c.gates : []);

  // Stage strip.
  const stages = stagesOf(c);
  const idx = c.stage?.index ?? 0;
  $('.stages', root).replaceChildren(
    ...stages.map((s, i) => {
      const cls = i < idx || c.phase === 'Complete' ? 'done' : i === idx ? `current ${c.phase === 'Blocked' ? 'blocked' : c.phase === 'RolledBack' ? 'bad' : ''}` : '';
      const what = s.percent !== undefined ? `${s.percent}%` : s.namespaces ? s.namespaces.join(',') : '';
      return el('li', { class: cls, title: s.minDurationMs !== undefined ? `minimum ${Math.round(s.minDurationMs / 1000)}s` : '' }, `${s.name}${what ? ` · ${what}` : ''}`);
    }),
  );

  // Buttons: only what the phase allows.
  // Only what the ramp state machine accepts in this phase.
  const can = { approve: c.phase === 'AwaitingApproval', pause: c.phase !== 'Paused' && c.phase !== 'Complete', resume: c.phase === 'Paused' || c.phase === 'RolledBack', rollback: idx > 0 };
  for (const b of root.querySelectorAll('button[data-action]')) b.disabled = !can[b.dataset.action];

  // Chart.
  const limits = c.thresholds ?? {};
  const rollbackPerMin = limits.maxActualDeniesPerMinute;
  // The window grows with the data, from 20 s up to five minutes, so a fresh ramp fills the chart.
  const span = v.points.length ? now - v.points[0].t : 0;
  drawChart($('.chart', root), {
    points: v.points,
    windowMs: Math.min(WINDOW_MS, Math.max(20_000, span + 2_000)),
    nowMs: now,
    gateRatio: typeof limits.maxWouldDenyRatio === 'number' ? limits.maxWouldDenyRatio : null,
    rollbackPerSec: typeof rollbackPerMin === 'number' ? rollbackPerMin / 60 : null,
  });
  const last = v.points[v.points.length - 1];
  $('.rates', root).textContent = last ? `${(last.flowsPerSec ?? 0).toFixed(1)} evals/s · ${last.ratio === null ? '–' : pct(last.ratio)} · ${last.actualPerSec.toFixed(2)} denies/s` : '';

  // Edges.
  const tbody = $('.edges tbody', root);
  if (v.edges.length === 0) tbody.replaceChildren(el('tr', { class: 'none' }, el('td', { colspan: '5', text: 'no would-deny edges in this stage' })));
  else {
    tbody.replaceChildren(
      ...v.edges.slice(0, 8).map((e) =>
        el('tr', { class: e.kind === 'actual-deny' ? 'actual' : '' }, el('td', { text: e.from }), el('td', { text: e.to }), el('td', { text: `${e.port}/${e.protocol}` }), el('td', { class: 'muted', text: e.side ?? '' }), el('td', { class: 'num count', text: String(e.count) })),
      ),
    );
  }

  // Evidence.
  const e = c.evidence ?? {};
  const ratio = e.flows > 0 ? e.deny / e.flows : 0;
  // A contract that replaces or removes policies in force is judged before = them, after = the change.
  const changed = [...(c.replaces ?? []).map((r) => ['replaces', r]), ...(c.removes ?? []).map((r) => ['removes', r])];
  $('.evidence', root).replaceChildren(
    ...changed.map(([how, ref]) => el('span', { class: 'changes', title: 'a policy in force this contract changes: would-deny counts sides it allowed and the change denies' }, `${how} `, el('b', { text: ref }))),
    el('span', {}, 'evaluated ', el('b', { text: String(e.flows ?? 0) })),
    el('span', {}, 'allow ', el('b', { text: String(e.allow ?? 0) })),
    el('span', { class: e.deny ? 'warn' : '' }, 'would-deny ', el('b', { text: `${e.deny ?? 0} (${pct(ratio)})` })),
    el('span', {}, 'indeterminate ', el('b', { text: String(e.indeterminate ?? 0) })),
    // Judged against the policies already in force: denied by them anyway, and newly opened by this contract.
    el('span', { class: 'muted', title: 'denied by the policies already in force (never blocks this contract)' }, 'already denied ', el('b', { text: String(e.alreadyDenied ?? 0) })),
    el('span', { class: e.newlyAllowed ? 'warn' : '', title: 'denied by the policies already in force, allowed with this contract' }, 'newly allowed ', el('b', { text: String(e.newlyAllowed ?? 0) })),
    el('span', { class: e.actualDenies ? 'bad' : '' }, 'actual denies ', el('b', { text: String(e.actualDenies ?? 0) })),
    el('span', {}, 'lost ', el('b', { text: String(e.lostEvents ?? 0) })),
    el('span', {}, 'nodes ', el('b', { text: `${e.nodes?.reporting ?? 0}/${e.nodes?.expected ?? 0}` })),
  );

  // History first: the revision judged on the traffic map before it started, apart from the live evidence;
  // and what the gates still wait for (CronJobs not yet run, silent workloads).
  const hx = c.historyEvidence;
  const waits = [...(c.waitingFor ?? []), ...((c.silentWorkloads ?? []).length ? [`silent: ${c.silentWorkloads.join(', ')}`] : [])];
  $('.history-evidence', root).replaceChildren(
    ...(hx
      ? [
          el('span', { title: `judged on the traffic map from ${hx.from} to ${hx.to}, before this revision started` }, 'history ', el('b', { text: `${Math.round((toMs(hx.to) - toMs(hx.from)) / 86_400_000 * 10) / 10}d` })),
          el('span', {}, 'edges ', el('b', { text: String(hx.edges) })),
          el('span', { class: hx.wouldDeny ? 'warn' : '' }, 'history would-deny ', el('b', { text: String(hx.wouldDeny) })),
          ...(hx.topEdges ?? []).slice(0, 3).map((t) => el('span', { class: 'deny', title: t.reason }, `${t.from} → ${t.to}:${t.port}/${t.protocol} (${t.count}, last seen ${fmtTime(toMs(t.lastSeen))})`)),
        ]
      : [el('span', { class: 'muted', text: 'history off' })]),
    ...waits.map((w) => el('span', { class: 'waiting', text: w })),
  );

  // History, newest first on screen.
  const rows = [...v.history].reverse().slice(0, 30);
  $('.history tbody', root).replaceChildren(
    ...rows.map((h) => {
      const kind = typeof h.decision === 'string' ? h.decision : h.decision?.kind ?? '';
      return el(
        'tr',
        {},
        el('td', { text: fmtTime(toMs(h.at)) }),
        el('td', { text: `${stageName(c, h.from)} → ${stageName(c, h.to)}` }),
        el('td', { text: h.phase ?? '' }),
        el('td', { class: `kind-${kind}`, text: kind }),
        el('td', { class: 'reasons', text: (h.reasons ?? []).join('\n') }),
        el('td', { text: h.actor ?? '' }),
      );
    }),
  );
}

function renderGates(root, gates) {
  $('.gates', root).replaceChildren(
    // Passed gates collapse to their name (message on hover); the others say why.
    ...gates.map((g) =>
      g.phase === 'passed'
        ? el('li', { class: 'gate passed', title: g.message ?? '' }, el('span', { class: 'gmsg', text: `✓ ${g.gate}` }))
        : el('li', { class: `gate ${g.phase}`, title: g.message ?? '' }, el('span', { class: 'gname', text: g.gate }), el('span', { class: 'gmsg', text: g.message ?? g.phase })),
    ),
  );
}

function stagesOf(c) {
  return c.stages ?? c.spec?.rollout?.stages ?? [];
}

function stageName(c, ref) {
  if (ref === null || ref === undefined) return '–';
  if (typeof ref === 'string') return ref;
  if (typeof ref === 'number') return stagesOf(c)[ref]?.name ?? String(ref);
  return ref.name ?? String(ref.index ?? '?');
}

function renderAgents(reporting, expected) {
  const box = $('#agents');
  const share = expected > 0 ? reporting / expected : 0;
  const bar = el('div', { class: `bar ${share < 1 ? 'partial' : ''}` }, el('span', { style: `width:${Math.round(share * 100)}%` }));
  const children = [el('div', { class: 'coverage' }, el('div', { class: 'row' }, el('span', { text: 'node coverage' }), el('b', { text: `${reporting}/${expected}` })), bar)];
  const agents = state.agents?.items;
  if (Array.isArray(agents) && agents.length) {
    const now = Date.now();
    children.push(
      el(
        'ul',
        { class: 'nodes' },
        ...agents.map((a) => {
          const last = toMs(a.lastReportAt ?? a.lastSeen ?? a.at);
          const age = Number.isFinite(last) ? Math.round((now - last) / 1000) : null;
          const ok = a.connected !== false && (age === null || age < 30);
          const hubble = a.hubbleConnected === false ? ' · hubble down' : '';
          const text = ok ? `${age === null ? 'connected' : `report ${age}s ago`}${hubble}` : age === null ? 'disconnected' : `silent ${age}s`;
          return el('li', {}, el('span', { text: a.node ?? a.name }), el('span', { class: ok && !hubble ? 'ok' : 'stale', text }));
        }),
      ),
    );
  }
  for (const [name, c] of state.contracts) {
    const n = c.evidence?.nodes ?? {};
    children.push(el('div', { class: 'row muted', style: 'display:flex;justify-content:space-between;font-family:var(--mono);font-size:12px' }, el('span', { text: name }), el('span', { text: `${n.reporting ?? 0}/${n.expected ?? 0} nodes` })));
  }
  box.replaceChildren(...children);
}

// ---- start -----------------------------------------------------------------------------------

$('#token').value = state.token;
$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.token = $('#token').value.trim();
  localStorage.setItem('rampart.token', state.token);
  banner('token saved in this browser', 'ok');
  void poll();
});
window.addEventListener('resize', scheduleRender);
setInterval(() => void poll(), POLL_MS);
setInterval(scheduleRender, 1000);
void poll();
connectStream();
