#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (npm onnxruntime-node), anvil's
// independent oracle and performance peer.
//
//   node ort_run.js MODEL.onnx [--threads N] --input NAME=FILE.npy ... --output-dir DIR
//   node ort_run.js MODEL.onnx [--threads N] [--input NAME=FILE.npy ...] --bench [--warmup 5] [--iters 20]
//
// Outputs are written as DIR/<name>.npy: float outputs as float32, integer
// and bool outputs in their own dtype (characters other than [A-Za-z0-9._-]
// in the name become '_'). --bench prints one JSON line
// {"median_ms", "mean_ms", "min_ms", ...}; inputs it is not given are filled
// with fixed uniform [-1, 1) data when their shape is static.
//
// onnxruntime-node is found through NODE_PATH, or in $ANVIL_ORT_DIR (a
// directory holding node_modules/, as scripts/setup-ort.sh makes it, or the
// package itself).
'use strict';

const fs = require('fs');
const path = require('path');

function fail(msg, code = 1) {
  process.stderr.write(`ort_run: ${msg}\n`);
  process.exit(code);
}

function loadOrt() {
  const tried = [];
  const dir = process.env.ANVIL_ORT_DIR;
  const candidates = dir ? [path.join(dir, 'node_modules', 'onnxruntime-node'), dir] : [];
  candidates.push('onnxruntime-node');
  for (const c of candidates) {
    try {
      return require(c);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') fail(`loading ${c} failed: ${e.message}`);
      tried.push(c);
    }
  }
  fail(`cannot find onnxruntime-node (tried ${tried.join(', ')}); install it with ` +
       `scripts/setup-ort.sh DIR and set ANVIL_ORT_DIR=DIR or NODE_PATH=DIR/node_modules`);
}

// ---------------------------------------------------------------------------
// .npy

// descr code -> [ORT tensor type, typed array, item size]
const NPY_TYPES = {
  f4: ['float32', Float32Array, 4],
  f2: ['float16', Uint16Array, 2],
  f8: ['float64', Float64Array, 8],
  i1: ['int8', Int8Array, 1],
  u1: ['uint8', Uint8Array, 1],
  i4: ['int32', Int32Array, 4],
  i8: ['int64', BigInt64Array, 8],
  b1: ['bool', Uint8Array, 1],
};

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    fail(`cannot read '${file}': ${e.message}`);
  }
  const bad = (what) => fail(`${file}: ${what}`);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') bad('not a .npy file (bad magic)');
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    hstart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) bad('truncated preamble');
    hlen = buf.readUInt32LE(8);
    hstart = 12;
  } else {
    bad(`unsupported .npy version ${major}`);
  }
  if (hstart + hlen > buf.length) bad('truncated header');
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /['"]descr['"]\s*:\s*['"]([<>|=]?)([a-z]\d+)['"]/.exec(header);
  const order = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !order || !shapeM) bad(`malformed header ${JSON.stringify(header.trim())}`);
  if (order[1] === 'True') bad('Fortran-order arrays are not supported');
  const type = NPY_TYPES[descr[2]];
  if (!type) bad(`unsupported dtype '${descr[1]}${descr[2]}'`);
  if (descr[1] === '>' && type[2] > 1) bad('big-endian data is not supported');
  const dims = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s.length).map((s) => {
    if (!/^\d+L?$/.test(s)) bad(`bad shape entry '${s}'`);
    return parseInt(s, 10);
  });
  const numel = dims.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const need = numel * type[2];
  if (buf.length - off !== need) bad(`header declares ${need} data bytes but the file holds ${buf.length - off}`);
  // Copy: typed arrays need aligned storage, and the Buffer may be a view.
  const ab = new ArrayBuffer(need);
  new Uint8Array(ab).set(buf.subarray(off, off + need));
  return { type: type[0], data: new type[1](ab), dims };
}

function writeNpy(file, descr, bytes, dims) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const hlen = total - 10;
  const head = Buffer.alloc(total, 0x20);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(hlen, 8);
  head.write(dict, 10, 'latin1');
  head[total - 1] = 0x0a;
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function saveOutput(dir, name, t) {
  const file = path.join(dir, name.replace(/[^A-Za-z0-9._-]/g, '_') + '.npy');
  const dims = t.dims.map(Number);
  let descr, arr;
  switch (t.type) {
    case 'float32': descr = '<f4'; arr = t.data; break;
    case 'float64': descr = '<f4'; arr = Float32Array.from(t.data); break;
    case 'float16': descr = '<f4'; arr = Float32Array.from(t.data, halfToFloat); break;
    case 'int8': descr = '|i1'; arr = t.data; break;
    case 'uint8': descr = '|u1'; arr = t.data; break;
    case 'int32': descr = '<i4'; arr = t.data; break;
    case 'int64': descr = '<i8'; arr = t.data; break;
    case 'bool': descr = '|b1'; arr = Uint8Array.from(t.data, (v) => (v ? 1 : 0)); break;
    default: fail(`output '${name}' has type ${t.type}, which cannot be saved as .npy`);
  }
  writeNpy(file, descr, arr, dims);
}

// ---------------------------------------------------------------------------

function parseArgs(argv) {
  const usage = 'usage: ort_run.js MODEL.onnx [--threads N] [--input NAME=FILE.npy ...] ' +
                '(--output-dir DIR | --bench [--warmup N] [--iters N])';
  const a = { model: null, threads: 1, inputs: [], outputDir: null, bench: false, warmup: 5, iters: 20 };
  const intArg = (flag, v, min) => {
    if (v === undefined || !/^\d+$/.test(v) || parseInt(v, 10) < min) fail(`${flag} needs an integer >= ${min}\n${usage}`, 2);
    return parseInt(v, 10);
  };
  for (let i = 0; i < argv.length; ++i) {
    const f = argv[i];
    if (f === '--threads') a.threads = intArg(f, argv[++i], 1);
    else if (f === '--warmup') a.warmup = intArg(f, argv[++i], 0);
    else if (f === '--iters') a.iters = intArg(f, argv[++i], 1);
    else if (f === '--bench') a.bench = true;
    else if (f === '--output-dir') {
      a.outputDir = argv[++i];
      if (!a.outputDir) fail(`--output-dir needs a directory\n${usage}`, 2);
    } else if (f === '--input') {
      const v = argv[++i] || '';
      const eq = v.indexOf('=');
      if (eq <= 0 || eq === v.length - 1) fail(`--input needs NAME=FILE.npy, got '${v}'\n${usage}`, 2);
      a.inputs.push([v.slice(0, eq), v.slice(eq + 1)]);
    } else if (f === '-h' || f === '--help') {
      process.stdout.write(usage + '\n');
      process.exit(0);
    } else if (f.startsWith('--')) fail(`unknown flag '${f}'\n${usage}`, 2);
    else if (a.model === null) a.model = f;
    else fail(`unexpected argument '${f}'\n${usage}`, 2);
  }
  if (!a.model) fail(`no model given\n${usage}`, 2);
  if (!a.bench && !a.outputDir) fail(`give --output-dir DIR or --bench\n${usage}`, 2);
  return a;
}

function syntheticInput(ort, meta) {
  if (!meta || !meta.isTensor || meta.type !== 'float32' || !meta.shape.every((d) => typeof d === 'number' && d >= 0))
    return null;
  const n = meta.shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = (s / 4294967296) * 2 - 1;
  }
  return new ort.Tensor('float32', data, meta.shape);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.model)) fail(`model '${args.model}' does not exist`);
  const ort = loadOrt();
  let session;
  try {
    session = await ort.InferenceSession.create(args.model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: args.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (e) {
    fail(`ONNX Runtime cannot load '${args.model}': ${e.message}`);
  }

  const feeds = {};
  for (const [name, file] of args.inputs) {
    if (!session.inputNames.includes(name))
      fail(`the model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    const t = readNpy(file);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  for (const [i, name] of session.inputNames.entries()) {
    if (feeds[name]) continue;
    const t = args.bench ? syntheticInput(ort, session.inputMetadata && session.inputMetadata[i]) : null;
    if (!t) fail(`no data for input '${name}': pass --input ${name}=FILE.npy`);
    feeds[name] = t;
  }

  const run = async () => {
    try {
      return await session.run(feeds);
    } catch (e) {
      fail(`ONNX Runtime failed to run '${args.model}': ${e.message}`);
    }
  };

  if (args.bench) {
    for (let i = 0; i < args.warmup; ++i) await run();
    const ms = [];
    for (let i = 0; i < args.iters; ++i) {
      const t0 = process.hrtime.bigint();
      await run();
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const sorted = [...ms].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    process.stdout.write(JSON.stringify({
      median_ms: median,
      mean_ms: ms.reduce((x, y) => x + y, 0) / ms.length,
      min_ms: sorted[0],
      iters: args.iters,
      warmup: args.warmup,
      threads: args.threads,
    }) + '\n');
  }

  if (args.outputDir) {
    const out = await run();
    fs.mkdirSync(args.outputDir, { recursive: true });
    for (const name of session.outputNames) saveOutput(args.outputDir, name, out[name]);
  }
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
