#!/usr/bin/env python3
"""In-model A/B of two anvil binaries: per-node medians from `anvil profile --csv`.

Runs the two binaries alternately (order flipping every round: the first of
a pair tends to read slower on this shared host) on one model and prints,
for the nodes matching --nodes (a substring; all when empty) and for their
sum, each side's median over the rounds of the per-run median ms, the ratio
B/A, and how many rounds B was faster.

  python3 bench/ab_model.py A_ANVIL B_ANVIL MODEL [--nodes conv.1.0] [--rounds 6] [--threads 1]
"""
import argparse
import os
import csv
import io
import statistics
import sys
import subprocess


def profile(binary, model, threads, iters):
    out = subprocess.run([binary, "profile", model, "--csv", "--no-peak", "--threads", str(threads), "--iters",
                          str(iters)], check=True, capture_output=True, text=True).stdout
    return {row["node"]: (float(row["median_ms"]), row["kernel"].split(":")[0])
            for row in csv.DictReader(io.StringIO(out))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("model")
    ap.add_argument("--nodes", default="")
    ap.add_argument("--kernel", default="", help="only nodes whose kernel name starts with this")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--sum-only", action="store_true")
    o = ap.parse_args()
    if not os.path.isfile(o.a):
        ap.error(f"A: no such file: {o.a}")
    if not os.path.isfile(o.b):
        ap.error(f"B: no such file: {o.b}")
    if not os.path.isfile(o.model):
        ap.error(f"MODEL: no such file: {o.model}")
    if not os.access(o.a, os.X_OK):
        ap.error(f"A: not executable: {o.a}")
    if not os.access(o.b, os.X_OK):
        ap.error(f"B: not executable: {o.b}")
    ta, tb, order = {}, {}, []
    for r in range(o.rounds):
        runs = [(o.a, ta), (o.b, tb)]
        if r % 2:
            runs.reverse()
        for binary, store in runs:
            res = profile(binary, o.model, o.threads, o.iters)
            total = 0.0
            for node, (ms, kern) in res.items():
                if o.nodes in node and kern.startswith(o.kernel):
                    store.setdefault(node, []).append(ms)
                    total += ms
                    if node not in order and binary == o.a:
                        order.append(node)
            store.setdefault("(sum)", []).append(total)
    if not order:
        sys.exit(f"no node matches --nodes {o.nodes!r} and --kernel {o.kernel!r} (kernel names start like conv2d_)")
    print(f"{'node':<34} {'A med':>8} {'B med':>8} {'B/A':>6}  B faster")
    for node in ([] if o.sum_only else order) + ["(sum)"]:
        if node not in tb:
            continue
        a, b = ta[node], tb[node]
        wins = sum(y < x for x, y in zip(a, b))
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{node[:34]:<34} {ma:8.3f} {mb:8.3f} {mb / ma:6.3f}  {wins}/{len(a)}")


if __name__ == "__main__":
    main()
