#!/usr/bin/env python3
"""Each convolution's share of the machine's FMA peak inside the model, not in a synthetic chain.

Runs `anvil profile --csv` several times (each measures the host's FMA peak itself and reports
every node's GFLOP/s against it), takes each node's median % of peak over the runs, groups the
conv nodes by kernel, weight shape and output map, and prints one row per group with its node
count, median time and % of peak (Winograd rows count the direct conv's FLOPs, so they can pass
100%). Rows under --target are marked. Alternate it with nothing else: the host is shared.

  python3 bench/model_peak.py MODEL.onnx [--threads 1] [--runs 5] [--iters 40] [--build build] [--target 85]
"""
import argparse
import collections
import csv
import io
import os
import statistics
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--build", default="build")
    ap.add_argument("--target", type=float, default=85.0, help="mark groups under this %% of peak")
    a = ap.parse_args()
    if not os.path.isfile(a.model):
        sys.exit(f"model_peak: no model file '{a.model}'")
    anvil_bin = os.path.join(a.build, "anvil")
    if not os.path.isfile(anvil_bin):
        sys.exit(f"model_peak: no {anvil_bin}; build first (make build) or pass --build DIR")
    pct = collections.defaultdict(list)
    ms = collections.defaultdict(list)
    info = {}
    for r in range(a.runs):
        p = subprocess.run([anvil_bin, "profile", a.model, "--threads", str(a.threads), "--iters", str(a.iters),
                            "--csv"], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"model_peak: anvil profile failed:\n{p.stderr}")
        for row in csv.DictReader(io.StringIO(p.stdout)):
            if not row["op"].startswith(("Conv", "FusedConv")) or not row["percent_peak"]:
                continue
            node = row["node"]
            pct[node].append(float(row["percent_peak"]))
            ms[node].append(float(row["median_ms"]))
            ins = row["inputs"].split(";")
            w = ins[1].split("[")[1].rstrip("]") if len(ins) > 1 else "?"
            out = row["outputs"].split(";")[0].split("[")[1].rstrip("]")
            info[node] = (row["kernel"].split(":")[0], w, "x".join(out.split("x")[2:]))
        print(f"run {r + 1}/{a.runs} done", file=sys.stderr, flush=True)
    groups = collections.OrderedDict()
    for node in pct:
        groups.setdefault(info[node], []).append(node)
    print(f"{a.model}, {a.threads} thread(s), median of {a.runs} profiles x {a.iters} runs; "
          f"% of the FMA peak each profile measured")
    print(f"{'kernel':28s} {'weights':16s} {'map':7s} {'nodes':>5s} {'ms/node':>8s} {'%peak':>7s}  (min-max node)")
    under = 0
    for (kernel, w, m), nodes in groups.items():
        meds = [statistics.median(pct[n]) for n in nodes]
        t = statistics.median(statistics.median(ms[n]) for n in nodes)
        mark = "  < target" if statistics.median(meds) < a.target else ""
        under += bool(mark)
        print(f"{kernel:28s} {w:16s} {m:7s} {len(nodes):5d} {t:8.3f} {statistics.median(meds):6.1f}%"
              f"  ({min(meds):.1f}-{max(meds):.1f}){mark}")
    print(f"{under} of {len(groups)} groups under {a.target:g}% of peak")


if __name__ == "__main__":
    main()
