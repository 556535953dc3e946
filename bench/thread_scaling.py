#!/usr/bin/env python3
"""How much each group of layers gains from a second thread, inside the model.

Runs `anvil profile --csv` at 1 and at N threads alternately (order flipping every round, the host
being shared), takes each node's median time over the rounds, groups the nodes by kernel, weight
shape and output map (as bench/model_peak.py does), and prints per group the summed time at each
thread count, the speed-up, and the time a perfect split would save at N threads
(t_N - t_1 / N), largest first: where the threading work pays most. The last lines give the same
for the whole model. Two columns say why a group falls short of N x: how many cores it kept busy
(under N: serial parts or uneven shares) and its busy core-time over the 1-thread time (over 1x:
work repeated per thread, or each thread slower: cache and memory contention).

  python3 bench/thread_scaling.py MODEL.onnx [--threads 2] [--rounds 4] [--iters 30] [--build build]
"""
import argparse
import collections
import csv
import io
import os
import statistics
import subprocess
import sys


def profile(anvil_bin, model, threads, iters):
    p = subprocess.run([anvil_bin, "profile", model, "--threads", str(threads), "--iters", str(iters), "--csv",
                        "--no-peak"], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"thread_scaling: anvil profile failed:\n{p.stderr}")
    rows = {}
    for row in csv.DictReader(io.StringIO(p.stdout)):
        ins = row["inputs"].split(";")
        w = ins[1].split("[")[1].rstrip("]") if len(ins) > 1 and "[" in ins[1] else "-"
        out = row["outputs"].split(";")[0]
        out = out.split("[")[1].rstrip("]") if "[" in out else "?"
        # Step and name: ONNX node names may be empty or repeat.
        cores = row.get("busy_cores")
        rows[f'{row["step"]}:{row["node"]}'] = (float(row["median_ms"]), float(cores) if cores else None,
                                               (row["kernel"].split(":")[0], w, "x".join(out.split("x")[2:])))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2, help="the thread count compared with 1")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    if a.threads < 2:
        sys.exit("thread_scaling: --threads must be 2 or more")
    if a.rounds < 1 or a.iters < 1:
        sys.exit("thread_scaling: --rounds and --iters must be at least 1")
    if not os.path.isfile(a.model):
        sys.exit(f"thread_scaling: no model file '{a.model}'")
    anvil_bin = os.path.join(a.build, "anvil")
    if not os.path.isfile(anvil_bin):
        sys.exit(f"thread_scaling: no {anvil_bin}; build first (make build) or pass --build DIR")
    times = {1: collections.defaultdict(list), a.threads: collections.defaultdict(list)}
    busy = collections.defaultdict(list)
    info = {}
    for r in range(a.rounds):
        order = (1, a.threads) if r % 2 == 0 else (a.threads, 1)
        for t in order:
            for node, (ms, cores, key) in profile(anvil_bin, a.model, t, a.iters).items():
                times[t][node].append(ms)
                if t > 1 and cores is not None:
                    busy[node].append(cores)
                if t == 1:
                    info[node] = key  # grouped by the 1-thread kernel (the N-thread one may differ)
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)
    nodes = [n for n in times[1] if n in times[a.threads] and n in info]
    if not nodes:
        sys.exit("thread_scaling: no node ran at both thread counts")
    have_cores = any(busy.values())
    groups = collections.OrderedDict()
    for n in nodes:
        groups.setdefault(info[n], []).append(n)
    t1 = {n: statistics.median(times[1][n]) for n in nodes}
    tn = {n: statistics.median(times[a.threads][n]) for n in nodes}
    cores = {n: statistics.median(busy[n]) if busy[n] else float("nan") for n in nodes}
    rows = []
    for key, ns in groups.items():
        s1, sn = sum(t1[n] for n in ns), sum(tn[n] for n in ns)
        core_time = sum(tn[n] * cores[n] for n in ns)
        rows.append((sn - s1 / a.threads, key, len(ns), s1, sn, core_time))
    rows.sort(key=lambda r: -r[0])
    T = a.threads
    print(f"{a.model}: 1 against {T} threads, medians of {a.rounds} alternated rounds x {a.iters} runs")
    print(f"{'kernel':28s} {'weights':16s} {'map':7s} {'nodes':>5s} {'1t ms':>8s} {f'{T}t ms':>8s} "
          f"{'speed-up':>8s} {'lost ms':>8s} {'cores':>6s} {'work':>6s}")
    def ratio(x, y, fmt, suffix=""):
        return f"{x / y:{fmt}}{suffix}" if y > 0 and x == x else "-"

    for lost, (kernel, w, m), count, s1, sn, ct in rows:
        print(f"{kernel:28s} {w:16s} {m:7s} {count:5d} {s1:8.3f} {sn:8.3f} {ratio(s1, sn, '7.2f', 'x'):>8s} "
              f"{lost:8.3f} {ratio(ct, sn, '6.2f'):>6s} {ratio(ct, s1, '5.2f', 'x'):>6s}")
    s1, sn = sum(t1.values()), sum(tn.values())
    ct = sum(tn[n] * cores[n] for n in nodes)
    print(f"{'(all nodes)':28s} {'':16s} {'':7s} {len(nodes):5d} {s1:8.3f} {sn:8.3f} {ratio(s1, sn, '7.2f', 'x'):>8s} "
          f"{sn - s1 / T:8.3f} {ratio(ct, sn, '6.2f'):>6s} {ratio(ct, s1, '5.2f', 'x'):>6s}")
    if not have_cores:
        print("(this anvil's profile has no busy_cores column: cores and work not shown)")
    print(f"cores: busy cores at {T} threads (anvil profile's busy_cores: wall time inside parallel work, time-weighted); under {T}: a thread idle "
          f"(serial parts, uneven shares). work: busy core-time at {T} threads over the time at 1; over 1x: the "
          f"threads do more or slower work than one thread alone (repeated transforms, cache misses, memory).")


if __name__ == "__main__":
    main()
