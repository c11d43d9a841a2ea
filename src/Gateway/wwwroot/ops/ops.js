// The operations page: cluster members and live sessions, refreshed every second from GET /api/cluster and
// GET /api/sessions, with charts of the last minutes (each session's ingest bitrate and FPS, sessions per silo) drawn
// from what the page has seen since it opened. The admin token is asked for once, kept in sessionStorage (gone when
// the tab closes) and sent only in the Authorization header, never in a URL.
import { legend, lineChart, sparkline } from '/ops/charts.js';

const TOKEN_KEY = 'livestream.adminToken';
const REFRESH_MS = 1000;
const REQUEST_TIMEOUT_MS = 8000;
// Bitrate computed from bytesIngested is averaged over this window: the recorder sends a chunk every 0.5-1 s, so a
// single refresh interval would swing between zero and twice the real rate.
const BITRATE_WINDOW_MS = 5000;
// The charts show the last 5 minutes: at one refresh a second, at most 300 samples per series.
const CHART_WINDOW_MS = 5 * 60 * 1000;

const $ = (id) => document.getElementById(id);

/** State the page exposes for the end-to-end tests (like window.goLive on the Go Live page). */
const ops = { refreshes: 0, lastError: null, bitrates: {} };
window.ops = ops;

const samples = new Map(); // sessionId -> [{ t, bytes }]
const history = { sessions: new Map(), silos: new Map() }; // id -> { bitrate: [{ t, v }], fps: [{ t, v }] }; silo -> [{ t, v }]
let timer = null;
// Bumped when the token changes, so a refresh still in flight from before does not start a second loop.
let generation = 0;

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function showLogin(message) {
  generation++;
  clearTimeout(timer);
  timer = null;
  $('dashboard').hidden = true;
  $('forget').hidden = true;
  $('login').hidden = false;
  $('login-message').textContent = message ?? '';
  $('refresh').textContent = 'Enter the admin token (LiveStream:AdminToken).';
  $('token').focus();
}

function showDashboard() {
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('forget').hidden = false;
}

class Unauthorized extends Error {}

async function getJson(path) {
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(path, {
      headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' },
      cache: 'no-store',
      signal: controller.signal,
    });
    if (response.status === 401) {
      throw new Unauthorized();
    }
    if (!response.ok) {
      let title = response.statusText;
      try { title = (await response.json()).title ?? title; } catch { /* not JSON */ }
      throw new Error(`${path}: ${response.status} ${title}`);
    }
    return await response.json();
  } finally {
    clearTimeout(timeout);
  }
}

async function refresh(current = generation) {
  timer = null;
  try {
    const [cluster, list] = await Promise.all([getJson('/api/cluster'), getJson('/api/sessions?state=live')]);
    if (current !== generation) return;
    render(cluster, list);
    ops.refreshes++;
    ops.lastError = null;
    $('refresh').removeAttribute('data-error');
    $('refresh').textContent = `Updated ${new Date().toLocaleTimeString()} · every ${REFRESH_MS / 1000} s`;
  } catch (error) {
    if (current !== generation) return;
    if (error instanceof Unauthorized) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin('The token was refused.');
      return;
    }
    ops.lastError = String(error?.message ?? error);
    $('refresh').setAttribute('data-error', '');
    $('refresh').textContent = `Refresh failed (${ops.lastError}); retrying.`;
  }
  if (token() && current === generation) {
    timer = setTimeout(() => refresh(current), REFRESH_MS);
  }
}

// ---- rendering (text only: names and errors come from users and FFmpeg, so never through innerHTML) ----

function cell(row, text, { className, field, title, state } = {}) {
  const td = row.insertCell();
  td.textContent = text ?? '–';
  if (className) td.className = className;
  if (field) td.dataset.field = field;
  if (title) td.title = title;
  if (state) td.dataset.state = state;
  return td;
}

function render(cluster, list) {
  const now = Date.now();
  const members = cluster.members ?? [];
  const siloNames = new Map(members.map((m) => [m.address, m.siloName || m.address]));
  const sessions = list.sessions ?? [];

  const memberRows = $('members').tBodies[0];
  memberRows.replaceChildren();
  for (const member of members) {
    const row = memberRows.insertRow();
    row.dataset.address = member.address;
    cell(row, member.siloName);
    cell(row, member.address, { className: 'id' });
    cell(row, member.hostName);
    cell(row, member.status, { state: member.status, field: 'status' });
    cell(row, member.status === 'dead' ? '–' : duration(now - Date.parse(member.startedAt)), { className: 'num' });
    cell(row, member.liveSessions ?? '?', { className: 'num', field: 'liveSessions' });
  }

  const seen = new Set();
  let total = 0;
  let known = false;
  const sessionRows = $('sessions').tBodies[0];
  sessionRows.replaceChildren();
  for (const session of sessions) {
    seen.add(session.id);
    const bps = bitrate(session, now);
    ops.bitrates[session.id] = bps;
    if (bps !== null) { total += bps; known = true; }
    const health = session.health ?? null;
    const row = sessionRows.insertRow();
    row.dataset.sessionId = session.id;
    cell(row, list.streamNames?.[session.streamId] ?? session.streamId, { title: session.streamId });
    cell(row, session.id, { className: 'id' });
    cell(row, session.state, { state: session.state, field: 'state' });
    cell(row, siloNames.get(session.silo) ?? session.silo, { title: session.silo ?? '', field: 'silo' });
    cell(row, duration(now - Date.parse(session.startedAt)), { className: 'num', field: 'uptime' });
    const fps = typeof health?.fps === 'number' ? health.fps : null;
    const charts = remember(history.sessions, session.id, now, { bitrate: bps, fps });
    const rate = cell(row, bps === null ? '–' : bits(bps), { className: 'num', field: 'bitrate' });
    rate.dataset.bps = bps === null ? '' : String(Math.round(bps));
    rate.dataset.source = typeof health?.ingestBitsPerSecond === 'number' ? 'health' : 'computed';
    rate.append(sparkline(charts.bitrate, { windowMs: CHART_WINDOW_MS, now, label: 'ingest bitrate' }));
    const frames = cell(row, fps === null ? '–' : fps.toFixed(1), {
      className: 'num',
      field: 'fps',
      title: health ? healthTitle(health) : 'no FFmpeg statistics',
    });
    frames.append(sparkline(charts.fps, { windowMs: CHART_WINDOW_MS, now, label: 'FFmpeg frames per second' }));
    cell(row, String(session.reconnects ?? 0), { className: 'num', field: 'reconnects' });
    cell(row, String(session.ffmpeg?.restarts ?? 0), { className: 'num', title: session.ffmpeg?.lastError ?? '' });
    const outputs = cell(row, '', { field: 'outputs' });
    for (const output of session.outputs ?? []) {
      const span = document.createElement('span');
      span.className = 'output';
      span.dataset.state = output.state;
      span.textContent = `${output.type} ${output.state}${output.restarts ? ` (${output.restarts})` : ''}`;
      span.title = [output.url, output.lastError].filter(Boolean).join('\n');
      outputs.append(span);
    }
    if (!session.outputs?.length) outputs.textContent = '–';
  }
  for (const id of samples.keys()) {
    if (!seen.has(id)) { samples.delete(id); delete ops.bitrates[id]; }
  }
  for (const id of history.sessions.keys()) {
    if (!seen.has(id)) history.sessions.delete(id);
  }
  renderSiloChart(members, sessions, siloNames, now);

  $('no-sessions').hidden = sessions.length > 0;
  $('total-live').textContent = String(sessions.length);
  $('total-active').textContent = String(sessions.filter((s) => s.state === 'active').length);
  $('total-disconnected').textContent = String(sessions.filter((s) => s.state === 'disconnected').length);
  $('total-bitrate').textContent = known ? bits(total) : '–';
  $('total-silos').textContent = String(members.filter((m) => m.status === 'active').length);
  const unanswered = Math.max(list.unanswered ?? 0, cluster.unanswered ?? 0);
  $('warning').hidden = unanswered === 0;
  $('warning').textContent = unanswered ? `${unanswered} stream(s) did not answer: the list may be missing sessions.` : '';
}

/** Appends this refresh's values to a series set (created on first use) and drops samples older than the window. */
function remember(store, key, now, values) {
  let series = store.get(key);
  if (!series) {
    series = Object.fromEntries(Object.keys(values).map((name) => [name, []]));
    store.set(key, series);
  }
  for (const [name, v] of Object.entries(values)) {
    const list = series[name];
    list.push({ t: now, v });
    while (list.length && list[0].t < now - CHART_WINDOW_MS) list.shift();
  }
  return series;
}

/** Live sessions per silo over the last minutes: one line per silo that is a member or has sessions. */
function renderSiloChart(members, sessions, siloNames, now) {
  const counts = new Map();
  for (const member of members) if (member.status === 'active') counts.set(member.address, 0);
  for (const session of sessions) if (session.silo) counts.set(session.silo, (counts.get(session.silo) ?? 0) + 1);
  for (const [silo, count] of counts) remember(history.silos, silo, now, { sessions: count });
  for (const [silo, series] of history.silos) {
    if (!counts.has(silo)) remember(history.silos, silo, now, { sessions: null });
    if (!series.sessions.some((s) => s.v !== null)) history.silos.delete(silo);
  }
  const series = new Map([...history.silos].map(([silo, s]) => [siloNames.get(silo) ?? silo, s.sessions]));
  const chart = lineChart(series, { windowMs: CHART_WINDOW_MS, now });
  chart.id = 'silo-sessions-chart';
  $('silo-chart').replaceChildren(chart, legend([...series.keys()]));
}

/** The session's ingest bitrate: the silo's figure when it sends one, else measured from bytesIngested here. */
function bitrate(session, now) {
  const history = samples.get(session.id) ?? [];
  const last = history[history.length - 1];
  if (!last || last.bytes !== session.bytesIngested || now - last.t >= BITRATE_WINDOW_MS / 2) {
    if (last && session.bytesIngested < last.bytes) history.length = 0; // a different byte stream: start over
    history.push({ t: now, bytes: session.bytesIngested });
  }
  while (history.length > 2 && now - history[1].t >= BITRATE_WINDOW_MS) history.shift();
  samples.set(session.id, history);

  if (typeof session.health?.ingestBitsPerSecond === 'number') return session.health.ingestBitsPerSecond;
  const first = history[0];
  const elapsed = (now - first.t) / 1000;
  if (history.length < 2 || elapsed < 0.5) return null;
  return ((session.bytesIngested - first.bytes) * 8) / elapsed;
}

function healthTitle(health) {
  const parts = [];
  if (typeof health.speed === 'number') parts.push(`speed ${health.speed.toFixed(2)}x`);
  if (typeof health.droppedFrames === 'number') parts.push(`dropped ${health.droppedFrames}`);
  if (typeof health.duplicatedFrames === 'number') parts.push(`duplicated ${health.duplicatedFrames}`);
  if (typeof health.outputSeconds === 'number') parts.push(`output ${health.outputSeconds.toFixed(1)} s`);
  if (Array.isArray(health.stderrTail) && health.stderrTail.length) parts.push(...health.stderrTail.slice(-3));
  return parts.join('\n');
}

function bits(bps) {
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kbit/s`;
  return `${bps.toFixed(0)} bit/s`;
}

function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h ${pad(m)}m ${pad(s % 60)}s` : `${m}m ${pad(s % 60)}s`;
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  $('token').value = '';
  generation++;
  showDashboard();
  refresh();
});

$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  samples.clear();
  history.sessions.clear();
  history.silos.clear();
  showLogin();
});

if (token()) {
  showDashboard();
  refresh();
} else {
  showLogin();
}
