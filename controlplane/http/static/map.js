// Rampart dashboard: the traffic map. Draws GET /api/v1/map as a service graph (namespaces
// as groups, workloads as nodes, edges with counts) with cytoscape + the fCoSE layout
// (served from node_modules at /vendor/), judged against a contract from the picker or a
// contract pasted for POST /api/v1/preview: would-deny edges red, newly-allowed amber.
// Plain ES module, no build step; it owns #map-panel and nothing else.

const REFRESH_MS = 5000;
const MAX_LISTED = 50;
const VERDICT_COLOURS = {
  allow: '#5b6b7d',
  'would-deny': '#f85149',
  'newly-allowed': '#e3b341',
  'already-denied': '#6e7681',
  denied: '#6e7681',
  indeterminate: '#a371f7',
};

const m = {
  cy: null,
  contract: '',
  pasted: null, // contract text under preview, or null
  last: null, // last answer
  layoutKey: '',
  timer: null,
};
window.rampartMap = m;

const $ = (sel) => document.querySelector(sel);
const token = () => localStorage.getItem('rampart.token') || new URLSearchParams(location.search).get('token') || '';

async function call(path, init = {}) {
  const headers = { accept: 'application/json', ...(init.headers || {}) };
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  const res = await fetch(path, { ...init, headers });
  const text = await res.text();
  const body = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const problems = body?.error?.problems || [];
    const detail = problems.length > 0 ? problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join('; ') : body?.error?.message || `HTTP ${res.status}`;
    throw Object.assign(new Error(detail), { status: res.status });
  }
  return body;
}

function status(text, kind = '') {
  const s = $('#map-status');
  s.textContent = text;
  s.className = `map-status ${kind}`;
}

function ensureGraph() {
  if (m.cy) return m.cy;
  if (typeof window.cytoscape !== 'function') {
    status('the graph library did not load (/vendor/cytoscape.min.js)', 'bad');
    return null;
  }
  if (window.cytoscapeFcose && !m.fcoseRegistered) {
    try {
      window.cytoscape.use(window.cytoscapeFcose);
    } catch {
      // already registered by the extension itself
    }
    m.fcoseRegistered = true;
  }
  m.cy = window.cytoscape({
    container: $('#map-graph'),
    minZoom: 0.1,
    maxZoom: 3,
    style: [
      { selector: 'node', style: { 'background-color': '#1f6feb', label: 'data(label)', color: '#d7dee7', 'font-size': 10, 'text-valign': 'bottom', 'text-margin-y': 3, width: 18, height: 18 } },
      { selector: 'node[kind != "pod"]', style: { 'background-color': '#7d8896', shape: 'diamond' } },
      { selector: ':parent', style: { 'background-color': '#151b23', 'background-opacity': 0.8, 'border-color': '#2a323d', 'border-width': 1, label: 'data(label)', 'text-valign': 'top', 'text-halign': 'center', color: '#7d8896', 'font-size': 11, shape: 'round-rectangle', padding: 12 } },
      { selector: 'edge', style: { width: 'data(width)', 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', 'arrow-scale': 0.8, 'line-color': 'data(colour)', 'target-arrow-color': 'data(colour)', label: 'data(label)', 'font-size': 8, color: '#9aa5b1', 'text-rotation': 'autorotate', 'text-background-color': '#0d1117', 'text-background-opacity': 0.7, 'text-background-padding': 1 } },
      { selector: 'edge[verdict = "would-deny"]', style: { 'z-index': 10, color: '#f85149' } },
      { selector: 'edge[verdict = "newly-allowed"]', style: { 'z-index': 9, color: '#e3b341' } },
      { selector: 'edge[verdict = "already-denied"], edge[verdict = "denied"]', style: { 'line-style': 'dashed' } },
      { selector: 'edge[verdict = "indeterminate"]', style: { 'line-style': 'dotted' } },
    ],
  });
  return m.cy;
}

function elementsOf(answer) {
  const namespaces = new Set();
  const nodes = [];
  for (const n of answer.nodes) {
    if (n.namespace) namespaces.add(n.namespace);
    nodes.push({ group: 'nodes', data: { id: n.id, label: n.workload || n.id, kind: n.kind, ...(n.namespace ? { parent: `ns:${n.namespace}` } : {}) } });
  }
  const groups = [...namespaces].map((ns) => ({ group: 'nodes', data: { id: `ns:${ns}`, label: ns, kind: 'namespace' } }));
  const max = Math.max(1, ...answer.edges.map((e) => e.count));
  const edges = answer.edges.map((e) => ({
    group: 'edges',
    data: {
      id: `${e.from}>${e.to}:${e.port}/${e.protocol}`,
      source: e.from,
      target: e.to,
      verdict: e.verdict,
      colour: VERDICT_COLOURS[e.verdict] || VERDICT_COLOURS.allow,
      width: 1 + 3 * Math.sqrt(e.count / max),
      label: `${e.port}/${e.protocol} ×${e.count}`,
      reason: e.reason,
    },
  }));
  return [...groups, ...nodes, ...edges];
}

function draw(answer) {
  m.last = answer;
  const cy = ensureGraph();
  if (!cy) return;
  const els = elementsOf(answer);
  const key = els.filter((e) => e.group === 'nodes').map((e) => e.data.id).sort().join('|') + '#' + answer.edges.length;
  cy.batch(() => {
    const ids = new Set(els.map((e) => e.data.id));
    cy.elements().filter((e) => !ids.has(e.id())).remove();
    for (const e of els) {
      const have = cy.getElementById(e.data.id);
      if (have.nonempty()) have.data(e.data);
      else cy.add(e);
    }
  });
  // Lay out only when the graph's shape changed, so verdict updates never move the nodes.
  if (key !== m.layoutKey) {
    m.layoutKey = key;
    const name = window.cytoscapeFcose ? 'fcose' : 'cose';
    cy.layout({ name, animate: false, randomize: true, nodeDimensionsIncludeLabels: true, idealEdgeLength: 90, nodeSeparation: 60, padding: 20 }).run();
    cy.fit(undefined, 20);
  }
  $('#map-graph').dataset.edges = String(answer.edges.length);
  $('#map-graph').dataset.wouldDeny = String(answer.verdicts?.['would-deny'] ?? 0);
  renderSummary(answer);
}

function renderSummary(a) {
  const v = a.verdicts || {};
  const judged = a.contract ? `against ${a.contract}${m.pasted ? ' (pasted)' : ''}` : 'under the baseline';
  status(`${a.edges.length} edges, ${a.nodes.length} workloads, judged ${judged} in ${a.elapsedMs} ms: ${v['would-deny'] || 0} would-deny, ${v['newly-allowed'] || 0} newly allowed, ${v['already-denied'] || 0} already denied, ${v.indeterminate || 0} indeterminate${a.other ? `; ${a.other} connections beyond the bound` : ''}`, v['would-deny'] ? 'bad' : 'ok');
  const body = $('#map-changes tbody');
  body.replaceChildren();
  const listed = a.edges.filter((e) => e.verdict === 'would-deny' || e.verdict === 'newly-allowed').slice(0, MAX_LISTED);
  for (const e of listed) {
    const tr = document.createElement('tr');
    tr.className = `verdict-${e.verdict}`;
    for (const [cls, text] of [['', e.verdict], ['', e.from], ['', e.to], ['', `${e.port}/${e.protocol}`], ['num', String(e.count)], ['reason', e.reason]]) {
      const td = document.createElement('td');
      if (cls) td.className = cls;
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
  $('#map-changes').hidden = listed.length === 0;
}

async function refresh() {
  if (m.pasted !== null) return;
  try {
    const q = m.contract ? `?contract=${encodeURIComponent(m.contract)}` : '';
    draw(await call(`/api/v1/map${q}`));
  } catch (e) {
    status(`map: ${e.message}`, 'bad');
  }
}

async function loadContracts() {
  try {
    const body = await call('/api/v1/contracts');
    const sel = $('#map-contract');
    const want = new Set((body.items || []).map((c) => c.name));
    const have = new Set([...sel.options].map((o) => o.value));
    for (const name of [...want].sort()) {
      if (!have.has(name)) sel.append(new Option(name, name));
    }
  } catch {
    // the contracts panel reports API problems
  }
}

async function preview() {
  const text = $('#map-paste').value;
  if (!text.trim()) {
    status('paste a RampContract (YAML or JSON) to preview it', 'warn');
    return;
  }
  status('previewing…');
  try {
    const answer = await call('/api/v1/preview', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: text });
    m.pasted = text;
    $('#map-clear').hidden = false;
    draw(answer);
  } catch (e) {
    status(`preview: ${e.message}`, 'bad');
  }
}

function clearPreview() {
  m.pasted = null;
  $('#map-clear').hidden = true;
  refresh();
}

function start() {
  if (!$('#map-panel')) return;
  $('#map-contract').addEventListener('change', (ev) => {
    m.contract = ev.target.value;
    m.pasted = null;
    $('#map-clear').hidden = true;
    refresh();
  });
  $('#map-preview').addEventListener('click', preview);
  $('#map-clear').addEventListener('click', clearPreview);
  $('#token-form')?.addEventListener('submit', () => setTimeout(() => { loadContracts(); refresh(); }, 50));
  loadContracts();
  refresh();
  m.timer = setInterval(() => {
    loadContracts();
    refresh();
  }, REFRESH_MS);
}

start();
