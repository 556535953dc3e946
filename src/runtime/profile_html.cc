#include "runtime/profile_html.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace anvil {

namespace {

// The page draws itself from this JSON. '<' only occurs inside JSON strings,
// where \u003c means the same; escaping it means no node name (say
// "</script>" or "<!--") can end or confuse the script element.
std::string script_safe(const std::string& s) {
  std::string r;
  r.reserve(s.size());
  for (char c : s) r += c == '<' ? std::string("\\u003c") : std::string(1, c);
  return r;
}

std::string html_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    switch (c) {
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '&': r += "&amp;"; break;
      case '"': r += "&quot;"; break;
      default: r += c;
    }
  }
  return r;
}

nlohmann::json profile_json(const Profile& p) {
  using nlohmann::json;
  json nodes = json::array();
  const double total = p.node_sum_mean_s();
  for (const NodeProfile& n : p.nodes) {
    nodes.push_back({{"step", n.step},
                     {"name", n.name},
                     {"op", n.op},
                     {"origin", n.origin},
                     {"kernel", n.kernel},
                     {"isa", n.isa},
                     {"inputs", n.input_shapes},
                     {"outputs", n.output_shapes},
                     {"mean_ms", n.mean_s * 1e3},
                     {"median_ms", n.median_s * 1e3},
                     {"percent", total > 0 ? 100 * n.mean_s / total : 0},
                     {"flops", n.flops},
                     {"gflops", n.gflops_per_s()},
                     {"bytes", n.bytes},
                     {"intensity", n.intensity()},
                     {"busy_cores", n.busy_cores_median}});
  }
  json ops = json::array();
  for (const OpSummary& s : p.op_summary())
    ops.push_back({{"op", s.op}, {"nodes", s.nodes}, {"mean_ms", s.mean_s * 1e3}, {"flops", s.flops}, {"bytes", s.bytes}});
  double head = 0, between = 0, tail = 0;
  for (size_t i = 0; i < p.head_seconds.size(); ++i) {
    head += p.head_seconds[i];
    between += p.between_seconds[i];
    tail += p.tail_seconds[i];
  }
  const double k = p.head_seconds.empty() ? 0 : 1e3 / static_cast<double>(p.head_seconds.size());
  return {{"model", p.model},
          {"opt_level", p.opt_level},
          {"threads", p.threads},
          {"isa", p.isa},
          {"denormals", p.flush_denormals ? "flush" : "keep"},
          {"iters", p.iters},
          {"warmup", p.warmup},
          {"peak_gflops", p.peak_gflops},
          {"run_mean_ms", p.run_mean_s() * 1e3},
          {"run_median_ms", p.run_median_s() * 1e3},
          {"node_sum_ms", total * 1e3},
          {"outside_ms", {{"before_first", head * k}, {"between", between * k}, {"after_last", tail * k}}},
          {"nodes", nodes},
          {"ops", ops}};
}

const char* kStyle = R"CSS(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px 32px;color:#1d232b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2e8;padding-bottom:4px}
.sub{color:#5a6570}.kpis{display:flex;gap:14px;flex-wrap:wrap;margin:14px 0}
.kpi{border:1px solid #dde2e8;border-radius:6px;padding:8px 14px;min-width:130px}
.kpi b{display:block;font-size:20px}.kpi span{color:#5a6570;font-size:12px}
svg{display:block;overflow:visible}svg text{font-size:11px;fill:#3a444f}
.axis line,.axis path{stroke:#9aa5b1}.grid line{stroke:#eef1f4}
table{border-collapse:collapse;font-size:12px;margin-top:6px}
th,td{padding:3px 8px;border-bottom:1px solid #eef1f4;text-align:right;white-space:nowrap}
th{background:#f5f7f9;cursor:pointer;position:sticky;top:0}td.l,th.l{text-align:left}
pre{background:#f5f7f9;padding:10px;border-radius:4px;font-size:12px;overflow-x:auto}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.note{color:#5a6570;font-size:12px}.scroll{overflow-x:auto;max-width:100%}.loss{color:#b3261e}.win{color:#1e7b34}
)CSS";

// Draws every chart and table from DATA. Written for plain ES2017 so any
// Chromium or Firefox of the last years opens it; no libraries.
const char* kScript = R"JS(
(function(){
const D = JSON.parse(document.getElementById('data').textContent);
const P = D.profile, NS = 'http://www.w3.org/2000/svg';
const $ = id => document.getElementById(id);
const el = (tag, attrs, parent, text) => {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
};
const h = (tag, text, parent, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
};
const fmt = (v, d) => (v === undefined || v === null || !isFinite(v)) ? '-' : v.toFixed(d);
// Milliseconds with 3 significant digits, so 2 us does not print as 0.000.
const fms = v => !isFinite(v) ? '-' : Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)));
const human = v => { if (v < 0) return '?'; const u = ['', 'K', 'M', 'G', 'T']; let i = 0;
  while (Math.abs(v) >= 1000 && i < 4) { v /= 1000; i++; } return i ? v.toFixed(2) + u[i] : v.toFixed(0); };
const PALETTE = ['#3367d6','#e8710a','#1e8e3e','#d93025','#9334e6','#12b5cb','#e52592','#f9ab00','#5f6368','#7cb342','#795548','#00897b'];
const ops = [...new Set(P.nodes.map(n => n.op))];
const color = op => PALETTE[ops.indexOf(op) % PALETTE.length];
const tip = n => `${n.name} (${n.op}${n.origin.length > 1 ? ' <- ' + n.origin.join(' + ') : ''})\n` +
  `kernel ${n.kernel}\n${n.inputs.join(', ')} -> ${n.outputs.join(', ')}\n` +
  `mean ${fms(n.mean_ms)} ms (${fmt(n.percent, 1)}%), ${human(n.flops)}FLOP, ${fmt(n.gflops, 2)} GFLOP/s` +
  (P.peak_gflops > 0 && n.gflops > 0 ? ` (${fmt(100 * n.gflops / P.peak_gflops, 1)}% of peak)` : '') +
  `, ${human(n.bytes)}B, ${fmt(n.intensity, 2)} FLOP/B` +
  (P.threads > 1 ? `, ${fmt(n.busy_cores, 2)} of ${P.threads} cores busy` : '');

// ---- header
$('title').textContent = 'anvil profile: ' + (P.model || 'model');
document.title = $('title').textContent;
$('config').textContent = `-O${P.opt_level}, ${P.threads} thread${P.threads == 1 ? '' : 's'}, ISA ${P.isa}, ` +
  `denormals ${P.denormals}, ${P.iters} timed runs after ${P.warmup} warm-up`;
const kpis = [[fmt(P.run_mean_ms, 3) + ' ms', 'end to end, mean'], [fmt(P.run_median_ms, 3) + ' ms', 'end to end, median'],
  [fmt(P.node_sum_ms, 3) + ' ms', `sum of ${P.nodes.length} nodes (${fmt(100 * P.node_sum_ms / P.run_mean_ms, 1)}%)`],
  [P.peak_gflops > 0 ? fmt(P.peak_gflops, 1) : '-', 'measured FMA peak, GFLOP/s'],
  [D.bandwidth_gbs > 0 ? fmt(D.bandwidth_gbs, 1) : '-', 'measured bandwidth, GB/s']];
if (P.threads > 1) {
  // Time-weighted over the nodes: how many cores the run kept busy.
  const w = P.nodes.reduce((a, n) => a + n.median_ms, 0);
  const c = w > 0 ? P.nodes.reduce((a, n) => a + n.median_ms * n.busy_cores, 0) / w : 1;
  kpis.push([fmt(c, 2) + ' / ' + P.threads, 'cores busy (wall time in parallel work)']);
}
for (const [v, l] of kpis) { const k = h('div', undefined, $('kpis'), 'kpi'); h('b', v, k); h('span', l, k); }
$('outside').textContent = `Outside the kernels: ${fmt(P.outside_ms.before_first, 3)} ms before the first, ` +
  `${fmt(P.outside_ms.between, 3)} ms between kernels, ${fmt(P.outside_ms.after_last, 3)} ms after the last (copying outputs).`;
const legend = $('legend');
for (const op of ops) { const s = h('span', op, legend); const i = document.createElement('i'); i.style.background = color(op); s.prepend(i); }

// ---- per-layer bars, execution order
let bars = 0;
{
  const W = 1080, H = 240, L = 56, B = 20, T = 18, svg = $('bars');
  svg.setAttribute('width', W + L); svg.setAttribute('height', H + B + T);
  const max = Math.max(1e-9, ...P.nodes.map(n => n.mean_ms));
  const step = W / Math.max(1, P.nodes.length), bw = Math.max(1, step * 0.85);
  const g = el('g', {transform: `translate(${L},${T})`}, svg);
  for (let t = 0; t <= 4; t++) {
    const y = H - H * t / 4;
    el('line', {x1: 0, x2: W, y1: y, y2: y, class: 'grid'}, g).style.stroke = '#eef1f4';
    el('text', {x: -6, y: y + 4, 'text-anchor': 'end'}, g, fmt(max * t / 4, max < 1 ? 3 : 1));
  }
  el('text', {x: -6, y: -8, 'text-anchor': 'end'}, g, 'ms');
  P.nodes.forEach((n, i) => {
    const bh = Math.max(0.5, H * n.mean_ms / max);
    const r = el('rect', {x: i * step, y: H - bh, width: bw, height: bh, fill: color(n.op), class: 'bar'}, g);
    el('title', {}, r, tip(n));
    bars++;
  });
  el('line', {x1: 0, x2: W, y1: H, y2: H, stroke: '#9aa5b1'}, g);
  el('text', {x: 0, y: H + 15}, g, 'first node');
  el('text', {x: W, y: H + 15, 'text-anchor': 'end'}, g, `node ${P.nodes.length - 1} (execution order)`);
}

// ---- slowest layers, labelled
{
  const top = P.nodes.slice().sort((a, b) => b.mean_ms - a.mean_ms).slice(0, 25);
  const W = 640, L = 330, R = 130, row = 18, svg = $('top');
  svg.setAttribute('width', L + W + R); svg.setAttribute('height', top.length * row + 10);
  const max = Math.max(1e-9, ...top.map(n => n.mean_ms));
  top.forEach((n, i) => {
    const y = i * row + 4;
    const label = n.name.length > 36 ? n.name.slice(0, 35) + '\u2026' : n.name;
    el('text', {x: L - 8, y: y + 12, 'text-anchor': 'end'}, svg, `${label}  ${n.op}${n.origin.length > 1 ? ' (' + n.origin.length + ')' : ''}`);
    const r = el('rect', {x: L, y: y, width: Math.max(1, W * n.mean_ms / max), height: row - 4, fill: color(n.op)}, svg);
    el('title', {}, r, tip(n));
    el('text', {x: L + Math.max(1, W * n.mean_ms / max) + 6, y: y + 12}, svg, `${fms(n.mean_ms)} ms  ${fmt(n.percent, 1)}%`);
  });
}

// ---- roofline
let points = 0;
{
  const W = 760, H = 420, L = 60, B = 40, svg = $('roofline');
  svg.setAttribute('width', W + L + 260); svg.setAttribute('height', H + B + 20);
  const pts = P.nodes.filter(n => n.flops > 0 && n.gflops > 0 && n.intensity > 0);
  const peak = P.peak_gflops, bwg = D.bandwidth_gbs;
  const xs = pts.map(n => n.intensity), ys = pts.map(n => n.gflops);
  const lx0 = Math.floor(Math.log10(Math.min(0.1, ...xs))), lx1 = Math.ceil(Math.log10(Math.max(100, ...xs) * 1.5));
  const ymax = Math.max(peak > 0 ? peak : 1, ...ys) * 2;
  const ly0 = Math.floor(Math.log10(Math.max(1e-3, Math.min(ymax / 1e4, ...ys)))), ly1 = Math.ceil(Math.log10(ymax));
  const X = v => W * (Math.log10(v) - lx0) / (lx1 - lx0), Y = v => H - H * (Math.log10(v) - ly0) / (ly1 - ly0);
  const g = el('g', {transform: `translate(${L},10)`}, svg);
  for (let e = lx0; e <= lx1; e++) {
    el('line', {x1: X(10 ** e), x2: X(10 ** e), y1: 0, y2: H, stroke: '#eef1f4'}, g);
    el('text', {x: X(10 ** e), y: H + 15, 'text-anchor': 'middle'}, g, e < 0 ? (10 ** e).toFixed(-e) : String(10 ** e));
  }
  for (let e = ly0; e <= ly1; e++) {
    el('line', {x1: 0, x2: W, y1: Y(10 ** e), y2: Y(10 ** e), stroke: '#eef1f4'}, g);
    el('text', {x: -6, y: Y(10 ** e) + 4, 'text-anchor': 'end'}, g, e < 0 ? (10 ** e).toFixed(-e) : String(10 ** e));
  }
  el('rect', {x: 0, y: 0, width: W, height: H, fill: 'none', stroke: '#9aa5b1'}, g);
  el('text', {x: W / 2, y: H + 32, 'text-anchor': 'middle'}, g, 'arithmetic intensity (FLOP per byte of inputs, weights and outputs)');
  el('text', {x: -H / 2, y: -44, transform: 'rotate(-90)', 'text-anchor': 'middle'}, g, 'GFLOP/s (median)');
  if (peak > 0) {
    const xl = 10 ** lx0, xr = 10 ** lx1;
    let d;
    if (bwg > 0) {
      const ridge = peak / bwg, x0 = Math.max(xl, 10 ** ly0 / bwg);
      d = `M${X(x0)},${Y(bwg * x0)} L${X(Math.min(ridge, xr))},${Y(Math.min(peak, bwg * Math.min(ridge, xr)))} L${X(xr)},${Y(Math.min(peak, bwg * xr))}`;
      el('text', {x: X(Math.min(ridge, xr)) + 4, y: Y(peak) + 14}, g, `ridge ${fmt(ridge, 1)} FLOP/B`);
      el('text', {x: X(x0) + 6, y: Y(bwg * x0) - 8, fill: '#b3261e'}, g, `memory ${fmt(bwg, 1)} GB/s`);
    } else {
      d = `M${X(xl)},${Y(peak)} L${X(xr)},${Y(peak)}`;
    }
    el('path', {d: d, fill: 'none', stroke: '#b3261e', 'stroke-width': 2, class: 'roof'}, g);
    el('text', {x: W - 4, y: Y(peak) - 6, 'text-anchor': 'end', fill: '#b3261e'}, g, `FMA peak ${fmt(peak, 1)} GFLOP/s (${P.isa}, ${P.threads} thr)`);
  }
  const maxms = Math.max(1e-9, ...pts.map(n => n.mean_ms));
  for (const n of pts) {
    const c = el('circle', {cx: X(n.intensity), cy: Y(n.gflops), r: 3 + 9 * Math.sqrt(n.mean_ms / maxms),
      fill: color(n.op), 'fill-opacity': 0.65, stroke: '#1d232b', 'stroke-width': 0.5, class: 'pt'}, g);
    el('title', {}, c, tip(n));
    points++;
  }
  const lg = el('g', {transform: `translate(${W + 20},0)`}, g);
  [...new Set(pts.map(n => n.op))].forEach((op, i) => {
    el('circle', {cx: 6, cy: 10 + i * 18, r: 5, fill: color(op)}, lg);
    el('text', {x: 16, y: 14 + i * 18}, lg, op);
  });
  el('text', {x: 0, y: 14 + ops.length * 18 + 10}, lg, 'circle area ~ time');
}

// ---- A/B comparison
if (D.compare) {
  const C = D.compare;
  $('compare').style.display = '';
  $('compare-head').textContent = `A = ${C.a.label} (${fmt(C.a.run_mean_ms, 3)} ms end to end), ` +
    `B = ${C.b.label} (${fmt(C.b.run_mean_ms, 3)} ms); B/A ${fmt(C.b.run_mean_ms / C.a.run_mean_ms, 2)}x. ` +
    `The rest of this page profiles B.`;
  const gs = C.groups.slice().sort((x, y) => Math.abs(y.delta_ms) - Math.abs(x.delta_ms)).slice(0, 30);
  const W = 520, L = 400, row = 18, svg = $('delta');
  svg.setAttribute('width', L + W + 140); svg.setAttribute('height', gs.length * row + 10);
  const max = Math.max(1e-9, ...gs.map(x => Math.abs(x.delta_ms))), mid = L + W / 2;
  el('line', {x1: mid, x2: mid, y1: 0, y2: gs.length * row + 6, stroke: '#9aa5b1'}, svg);
  gs.forEach((x, i) => {
    const y = i * row + 4, w = (W / 2) * Math.abs(x.delta_ms) / max, name = (x.b_nodes[0] || x.a_nodes[0] || '');
    el('text', {x: L - 8, y: y + 12, 'text-anchor': 'end'}, svg, `${name.length > 30 ? name.slice(0, 29) + '\u2026' : name}  ${x.a_ops || '(none)'} \u2192 ${x.b_ops || '(removed)'}`.replace(/BatchNormalization/g, 'BN').slice(0, 64));
    const r = el('rect', {x: x.delta_ms > 0 ? mid : mid - w, y: y, width: Math.max(1, w), height: row - 4,
      fill: x.delta_ms > 0 ? '#d93025' : '#1e8e3e', class: 'dbar'}, svg);
    el('title', {}, r, `A: ${x.a_nodes.join(', ')}\nB: ${x.b_nodes.join(', ')}\nA ${fms(x.a_ms)} ms -> B ${fms(x.b_ms)} ms`);
    el('text', {x: mid + (x.delta_ms > 0 ? w + 4 : 4), y: y + 12}, svg, `${x.delta_ms > 0 ? '+' : ''}${fms(x.delta_ms)} ms (${x.a_ms > 0 ? fmt(x.b_ms / x.a_ms, 2) + 'x' : 'new'})`);
  });
  table($('patterns'), ['rewrite (A ops \u2192 B ops)', 'groups', 'A ms', 'B ms', 'B-A ms', 'B/A'],
    C.patterns.map(p => [p.rewrite, p.groups, fms(p.a_ms), fms(p.b_ms), fms(p.b_ms - p.a_ms),
      p.a_ms > 0 ? fmt(p.b_ms / p.a_ms, 2) + 'x' : '-']), [0]);
}

// ---- tables
function table(t, head, rows, leftCols) {
  const tr = h('tr', undefined, h('thead', undefined, t));
  const body = h('tbody', undefined, t);
  head.forEach((c, i) => {
    const th = h('th', c, tr, leftCols.includes(i) ? 'l' : '');
    th.onclick = () => {  // click a header to sort by it
      const num = v => parseFloat(String(v).replace(/[^0-9.eE+-]/g, ''));
      const dir = th.dataset.dir = th.dataset.dir === 'd' ? 'a' : 'd';
      rows.sort((x, y) => { const a = num(x[i]), b = num(y[i]);
        const c = isNaN(a) || isNaN(b) ? String(x[i]).localeCompare(String(y[i])) : a - b; return dir === 'd' ? -c : c; });
      fill();
    };
  });
  const fill = () => {
    body.textContent = '';
    for (const r of rows) { const row = h('tr', undefined, body); r.forEach((c, i) => h('td', String(c), row, leftCols.includes(i) ? 'l' : '')); }
  };
  fill();
}
const mt = P.threads > 1;
table($('nodes'), ['#', 'node', 'op', 'origin', 'kernel', 'output', 'mean ms', 'median ms', '%', 'FLOP', 'GFLOP/s', '% peak', 'bytes', 'FLOP/B']
    .concat(mt ? ['cores'] : []),
  P.nodes.map(n => [n.step, n.name, n.op, n.origin.join(' + '), n.kernel, n.outputs.join(', '), fms(n.mean_ms), fms(n.median_ms),
    fmt(n.percent, 1), human(n.flops), fmt(n.gflops, 2), P.peak_gflops > 0 && n.gflops > 0 ? fmt(100 * n.gflops / P.peak_gflops, 1) : '-',
    human(n.bytes), fmt(n.intensity, 2)].concat(mt ? [fmt(n.busy_cores, 2)] : [])), [1, 2, 3, 4, 5]);
table($('ops'), ['op', 'nodes', 'ms', '%', 'FLOP', 'GFLOP/s'],
  P.ops.map(s => [s.op, s.nodes, fms(s.mean_ms), fmt(100 * s.mean_ms / P.node_sum_ms, 1), human(s.flops),
    s.mean_ms > 0 && s.flops > 0 ? fmt(s.flops / s.mean_ms * 1e-6, 2) : '-']), [0]);
$('optreport').textContent = D.optimization_report || '(not available)';

const root = document.documentElement;
root.setAttribute('data-bars', bars);
root.setAttribute('data-points', points);
root.setAttribute('data-rendered', '1');
})();
)JS";

}  // namespace

std::string profile_to_html(const Profile& p, const HtmlReportOptions& o) {
  using nlohmann::json;
  json d = {{"profile", profile_json(p)}, {"bandwidth_gbs", o.bandwidth_gbs}, {"optimization_report", o.optimization_report}};
  if (o.comparison) d["compare"] = json::parse(comparison_to_json(*o.comparison));
  std::string page;
  page += "<!DOCTYPE html>\n<html lang=\"en\" data-rendered=\"0\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<title>anvil profile: " + html_escape(p.model) + "</title>\n";
  // Registered first so that an error anywhere later is recorded.
  page += "<script>window.addEventListener('error',function(e){var r=document.documentElement;"
          "r.setAttribute('data-js-errors',(+(r.getAttribute('data-js-errors')||0)+1));"
          "r.setAttribute('data-js-error-message',String(e.message));});</script>\n";
  page += std::string("<style>") + kStyle + "</style>\n</head>\n<body>\n";
  page += R"(<h1 id="title"></h1><div class="sub" id="config"></div><div class="kpis" id="kpis"></div>
<div class="note" id="outside"></div>
<section id="compare" style="display:none"><h2>A/B: where the time moved</h2><div class="sub" id="compare-head"></div>
<p class="note">Nodes of A and B that stand for the same original model nodes form a group; red bars: B slower, green: B faster. Largest changes first.</p>
<svg id="delta"></svg><h3>By rewrite</h3><table id="patterns"></table></section>
<h2>Time per layer (execution order)</h2><div class="legend" id="legend"></div><svg id="bars"></svg>
<h2>Slowest layers</h2><svg id="top"></svg>
<h2>Roofline</h2><p class="note">Each circle is a layer with known FLOPs; the red line is what this machine can do at that arithmetic intensity (measured FMA peak and streaming bandwidth). Far below the line: look at the kernel (ref: = plain-loop reference), the channel counts and fusion.</p><svg id="roofline"></svg>
<h2>Optimization report</h2><pre id="optreport"></pre>
<h2>Layers</h2><p class="note">Click a column header to sort.</p><div class="scroll"><table id="nodes"></table></div>
<h2>Per op type</h2><table id="ops"></table>
)";
  page += "<script id=\"data\" type=\"application/json\">" + script_safe(d.dump()) + "</script>\n";
  page += std::string("<script>") + kScript + "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace anvil
