#!/usr/bin/env python3
"""A/B of two bench_conv_layers binaries on the same layers, same run.

The host is shared and noisy (single runs move by 10-60%), and whichever
binary runs first in a pair tends to read slower, so the two alternate, the
order flipping every round. Per layer it prints each side's median and best
ms over the rounds and the ratio B/A of both, with how many rounds B won.

  python3 bench/ab_layers.py OLD_BINARY NEW_BINARY --filter "3x3/2" [--rounds 8] [--depth 8]
"""
import argparse
import os
import statistics
import subprocess


def run(binary, flt, depth):
    out = subprocess.run([binary, "--filter", flt, "--depth", str(depth)], check=True, capture_output=True,
                         text=True).stdout
    res = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[0] in ("ISA", "layer"):
            continue
        # name may hold a space ("s2.3x3/2 128@56"): the kernel column starts with conv/dwconv
        k = next(i for i, p in enumerate(parts) if p.startswith(("conv", "dwconv")))
        res[" ".join(parts[:k])] = float(parts[k + 1])
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--filter", default="")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--depth", type=int, default=8)
    o = ap.parse_args()
    if not os.path.isfile(o.a):
        ap.error(f"A: no such file: {o.a}")
    if not os.path.isfile(o.b):
        ap.error(f"B: no such file: {o.b}")
    if not os.access(o.a, os.X_OK):
        ap.error(f"A: not executable: {o.a}")
    if not os.access(o.b, os.X_OK):
        ap.error(f"B: not executable: {o.b}")
    ta, tb = {}, {}
    wins = {}
    for r in range(o.rounds):
        first, second = (o.a, o.b) if r % 2 == 0 else (o.b, o.a)
        x = run(first, o.filter, o.depth)
        y = run(second, o.filter, o.depth)
        ra, rb = (x, y) if r % 2 == 0 else (y, x)
        for k in ra:
            ta.setdefault(k, []).append(ra[k])
            tb.setdefault(k, []).append(rb[k])
            wins[k] = wins.get(k, 0) + (rb[k] < ra[k])
    print(f"{'layer':<26} {'A med':>7} {'B med':>7} {'B/A':>6} {'A best':>7} {'B best':>7} {'B/A':>6}  B faster")
    for k in ta:
        ma, mb = statistics.median(ta[k]), statistics.median(tb[k])
        ba, bb = min(ta[k]), min(tb[k])
        print(f"{k:<26} {ma:7.3f} {mb:7.3f} {mb / ma:6.3f} {ba:7.3f} {bb:7.3f} {bb / ba:6.3f}  {wins[k]}/{o.rounds}")


if __name__ == "__main__":
    main()
