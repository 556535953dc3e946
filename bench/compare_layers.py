#!/usr/bin/env python3
"""Layer by layer: anvil's `profile --csv` against ONNX Runtime's own profiler, same model, same threads.

Both run the model's convolutions, GEMMs and pools in graph order; the two lists are paired in
that order (anvil's fused nodes and ORT's NCHWc nodes carry different names; an anvil FusedConvDw
is paired with the two ORT nodes it stands for) and printed with
median times and the anvil/ORT ratio, then summed per anvil kernel. Run alternately with other
work off the machine: the host is shared.

  python3 bench/compare_layers.py MODEL.onnx [--threads 1] [--runs 25] [--build build] [--min-ratio 0]
"""
import argparse
import collections
import csv
import glob
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile

OPS = ("Conv", "FusedConv", "FusedConvDw", "Gemm", "FusedGemm", "MaxPool")
# ONNX Runtime nodes each anvil node stands for (FusedConvDw: a 1x1 conv and
# the depthwise conv it feeds).
SPAN = {"FusedConvDw": 2}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--build", default="build")
    ap.add_argument("--min-ratio", type=float, default=0.0, help="print only layers at least this much slower")
    a = ap.parse_args()
    if not os.path.isfile(a.model):
        sys.exit(f"compare_layers: no model file '{a.model}'")
    anvil_bin = os.path.join(a.build, "anvil")
    if not os.path.isfile(anvil_bin):
        sys.exit(f"compare_layers: no {anvil_bin}; build first (make build) or pass --build DIR")

    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, NODE_PATH=os.path.join(a.build, "ort", "node_modules"))
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "ort")
        if subprocess.run(["node", os.path.join(here, "ort_profile.js"), a.model, str(a.threads), str(a.runs),
                           prefix], env=env).returncode != 0:
            sys.exit("compare_layers: ONNX Runtime failed (its message is above); is onnxruntime-node in "
                     f"{a.build}/ort (scripts/setup-ort.sh {a.build}/ort)?")
        files = glob.glob(prefix + "*.json")
        if not files:
            sys.exit("compare_layers: ONNX Runtime wrote no profile")
        events = json.load(open(files[0]))
    times = collections.OrderedDict()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e.get("args", {}).get("op_name") in OPS:
            times.setdefault(e["name"][: -len("_kernel_time")], []).append(e["dur"] / 1000.0)
    # The first runs warm up.
    ort = [(n, statistics.median(v[5:] or v)) for n, v in times.items()]

    run = subprocess.run([anvil_bin, "profile", a.model, "--threads", str(a.threads), "--iters", str(a.runs),
                          "--warmup", "5", "--csv", "--no-peak"], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"compare_layers: anvil profile failed: {run.stderr.strip()}")
    out = run.stdout
    anvil = [r for r in csv.DictReader(io.StringIO(out)) if r["op"] in OPS]
    if sum(SPAN.get(r["op"], 1) for r in anvil) != len(ort):
        print(f"note: {len(anvil)} anvil nodes against {len(ort)} ORT nodes; pairs past the first "
              "difference are not the same layer", file=sys.stderr)

    print(f"{'anvil node':<30} {'ORT node':<30} {'anvil ms':>9} {'ORT ms':>9} {'ratio':>6}  kernel")
    by_kernel = collections.defaultdict(lambda: [0.0, 0.0])
    ta = to = 0.0
    pairs, i = [], 0
    for r in anvil:
        span = ort[i:i + SPAN.get(r["op"], 1)]
        if not span:
            break
        pairs.append(("+".join(n for n, _ in span), sum(t for _, t in span), r))
        i += len(span)
    for on, ot, r in pairs:
        at = float(r["median_ms"])
        kernel = r["kernel"].split(":")[0]
        by_kernel[kernel][0] += at
        by_kernel[kernel][1] += ot
        ta += at
        to += ot
        if ot > 0 and at / ot >= a.min_ratio:
            print(f"{r['node'][:30]:<30} {on[:30]:<30} {at:>9.3f} {ot:>9.3f} {at / ot:>6.2f}  {kernel}")
    print(f"{'total':<61} {ta:>9.3f} {to:>9.3f} {ta / max(to, 1e-9):>6.2f}")
    print()
    for k, (x, y) in sorted(by_kernel.items(), key=lambda t: -t[1][0]):
        print(f"  {k:<28} anvil {x:8.3f} ms  ORT {y:8.3f} ms  ratio {x / max(y, 1e-9):.2f}")


if __name__ == "__main__":
    main()
