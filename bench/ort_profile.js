#!/usr/bin/env node
// Runs a model with ONNX Runtime's profiler on and prints the profile file's
// path: per-node kernel times for bench/compare_layers.py.
//   NODE_PATH=build/ort/node_modules node bench/ort_profile.js MODEL.onnx THREADS RUNS PREFIX
'use strict';
const ort = require('onnxruntime-node');

(async () => {
  const [model, threads = '1', runs = '25', prefix = '/tmp/ort_profile'] = process.argv.slice(2);
  if (!model) {
    process.stderr.write('usage: ort_profile.js MODEL.onnx [THREADS] [RUNS] [PREFIX]\n');
    process.exit(2);
  }
  const s = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: parseInt(threads, 10),
    interOpNumThreads: 1, executionMode: 'sequential', enableProfiling: true, profileFilePrefix: prefix,
  });
  const feeds = {};
  for (const [i, name] of s.inputNames.entries()) {
    const meta = s.inputMetadata && s.inputMetadata[i];
    if (!meta || !meta.shape.every((d) => typeof d === 'number' && d >= 0)) {
      process.stderr.write(`ort_profile: input '${name}' has no static shape\n`);
      process.exit(1);
    }
    const n = meta.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let j = 0; j < n; ++j) data[j] = Math.sin(j);
    feeds[name] = new ort.Tensor('float32', data, meta.shape);
  }
  for (let r = 0; r < parseInt(runs, 10); ++r) await s.run(feeds);
  s.endProfiling();
})().catch((e) => {
  process.stderr.write(`ort_profile: ${e.message}\n`);
  process.exit(1);
});
