// Small SVG charts for the operations page, drawn with DOM calls only (no innerHTML, no library): a sparkline for
// one series and a line chart for a few named series. Values are { t, v } samples; v null is a gap.

const SVG = 'http://www.w3.org/2000/svg';
// A page open for less than the window charts what it has, over at least this long.
const MIN_SPAN_MS = 30 * 1000;

/** Where the time axis starts: the oldest sample in the window, at least MIN_SPAN_MS before now. */
function start(sampleLists, now, windowMs) {
  let oldest = now;
  for (const samples of sampleLists) {
    for (const s of samples) if (s.t >= now - windowMs && s.t < oldest) oldest = s.t;
  }
  return Math.max(now - windowMs, Math.min(oldest, now - MIN_SPAN_MS));
}

function spanLabel(ms) {
  return ms >= 90 * 1000 ? `last ${Math.round(ms / 60000)} min` : `last ${Math.round(ms / 1000)} s`;
}

function element(name, attributes = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

/** Polyline point lists for the samples over [from, to], broken at gaps, scaled into width x height. */
function segments(samples, from, to, max, width, height) {
  const span = Math.max(1, to - from);
  const runs = [];
  let run = [];
  for (const { t, v } of samples) {
    if (v === null || v === undefined || !Number.isFinite(v)) {
      if (run.length) runs.push(run);
      run = [];
      continue;
    }
    const x = ((t - from) / span) * width;
    const y = height - (Math.min(v, max) / max) * (height - 2) - 1;
    run.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  if (run.length) runs.push(run);
  return runs;
}

/**
 * A sparkline of one series over the last windowMs (or since its first sample, when more recent): an <svg> with one <polyline> per unbroken run of values.
 * data-points holds how many samples it draws and data-last the last value, for tests and tooltips.
 */
export function sparkline(samples, { windowMs, now = Date.now(), width = 120, height = 24, label = '' }) {
  const values = samples.filter((s) => s.t >= now - windowMs);
  const known = values.filter((s) => Number.isFinite(s.v));
  const max = Math.max(1, ...known.map((s) => s.v)) * 1.1;
  const from = start([values], now, windowMs);
  const svg = element('svg', { class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  svg.dataset.points = String(known.length);
  svg.dataset.last = known.length ? String(known[known.length - 1].v) : '';
  const title = element('title');
  title.textContent = `${label}, ${spanLabel(now - from)}`;
  svg.append(title);
  for (const run of segments(values, from, now, max, width, height)) {
    svg.append(element('polyline', { points: run.join(' '), fill: 'none' }));
  }
  return svg;
}

/**
 * A line chart of named series ({ name -> samples }) over the last windowMs, with a y axis from 0 to the largest value
 * and a legend. Each series is a <g data-series=name> holding its polylines.
 */
export function lineChart(series, { windowMs, now = Date.now(), width = 480, height = 120, unit = '' }) {
  const margin = { left: 28, bottom: 16 };
  const plotWidth = width - margin.left;
  const plotHeight = height - margin.bottom;
  let max = 1;
  for (const samples of series.values()) {
    for (const s of samples) if (Number.isFinite(s.v) && s.v > max) max = s.v;
  }
  max = Math.ceil(max);
  const from = start(series.values(), now, windowMs);
  const svg = element('svg', { class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });
  const axis = element('g', { class: 'axis' });
  axis.append(element('line', { x1: margin.left, y1: 0, x2: margin.left, y2: plotHeight }));
  axis.append(element('line', { x1: margin.left, y1: plotHeight, x2: width, y2: plotHeight }));
  for (const [value, y] of [[max, 10], [0, plotHeight]]) {
    const text = element('text', { x: margin.left - 4, y, 'text-anchor': 'end' });
    text.textContent = `${value}${unit}`;
    axis.append(text);
  }
  const span = element('text', { x: width, y: height - 2, 'text-anchor': 'end' });
  span.textContent = spanLabel(now - from);
  axis.append(span);
  svg.append(axis);

  let index = 0;
  for (const [name, samples] of series) {
    const group = element('g', { class: `series series-${index++ % 6}`, transform: `translate(${margin.left},0)` });
    group.dataset.series = name;
    const values = samples.filter((s) => s.t >= now - windowMs);
    group.dataset.points = String(values.filter((s) => Number.isFinite(s.v)).length);
    group.dataset.last = values.length ? String(values[values.length - 1].v) : '';
    for (const run of segments(values, from, now, max, plotWidth, plotHeight)) {
      group.append(element('polyline', { points: run.join(' '), fill: 'none' }));
    }
    svg.append(group);
  }
  return svg;
}

/** A legend: one swatch and name per series, in the chart's order. */
export function legend(names) {
  const list = document.createElement('ul');
  list.className = 'legend';
  names.forEach((name, i) => {
    const item = document.createElement('li');
    item.className = `series-${i % 6}`;
    item.textContent = name;
    list.append(item);
  });
  return list;
}
