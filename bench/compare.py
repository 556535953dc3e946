#!/usr/bin/env python3
"""anvil vs ONNX Runtime on zoo models, same machine, same run.

For each model and thread count, runs `anvil bench --json` and ORT's
tests/oracle/ort_run.js --bench interleaved for several rounds (the machine
is shared and noisy) and prints medians and the anvil/ORT ratio: of the
medians, the median of each round's ratio, and of the best rounds.
--direct adds anvil with direct convolution only (--exact: no Winograd) to
every round, with its own ratio column; the last column says which
algorithms anvil's convs ran (w4: Winograd F(4x4,3x3), w2: F(2x2,3x3), d:
direct summation: the GEMM kernels, the stem kernel, the fused 1x1 + depthwise). --tune fast|full passes anvil --tune (per-layer
choice by measurement, cached).

  python3 bench/compare.py [--build build] [--rounds 3] [--iters 20] [--models resnet101:224,...] [--direct]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

DEFAULT_MODELS = "resnet101:224,resnet101:112,resnet50:224,mobilenet_v2:224"


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    for line in reversed(out.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON in output of: " + " ".join(cmd))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default=DEFAULT_MODELS)
    ap.add_argument("--extra", default="", help="extra anvil flags, e.g. '-O0'")
    ap.add_argument("--direct", action="store_true", help="also time anvil --exact (direct convolution only)")
    ap.add_argument("--tune", default="off", choices=["off", "fast", "full"], help="anvil --tune")
    a = ap.parse_args()

    anvil = os.path.join(a.build, "anvil")
    ort_dir = os.path.join(a.build, "ort", "node_modules")
    here = os.path.dirname(os.path.abspath(__file__))
    ort_js = os.path.join(here, "..", "tests", "oracle", "ort_run.js")
    env = dict(os.environ, NODE_PATH=ort_dir)
    mdir = os.path.join(a.build, "compare")
    os.makedirs(mdir, exist_ok=True)

    rows = []
    for spec in a.models.split(","):
        name, size = spec.split(":")
        path = os.path.join(mdir, f"{name}_{size}.onnx")
        if not os.path.exists(path):
            # The zoo's MXNet-layout models (the insightface LResNet100E-IR of
            # the user report, ResNet-101 at 112x112) name their input "data".
            inp = "data" if name.startswith("LResNet") else "input"
            subprocess.run([anvil, "zoo", name, "--shape", f"{inp}:1,3,{size},{size}", "-o", path], check=True,
                           capture_output=True)
        for t in [int(x) for x in a.threads.split(",")]:
            an, ort, direct = [], [], []
            algos = ""
            bench = [anvil, "bench", path, "--json", "--threads", str(t), "--warmup", str(a.warmup), "--iters",
                     str(a.iters)] + a.extra.split()
            for r in range(a.rounds):
                j = run_json(bench + ["--tune", a.tune])
                an.append(j["median_ms"])
                algos = algorithms(j.get("conv_kernels", {}))
                if a.direct:
                    direct.append(run_json(bench + ["--exact"])["median_ms"])
                j = run_json(["node", ort_js, path, "--bench", "--threads", str(t), "--warmup", str(a.warmup),
                              "--iters", str(a.iters)], env=env)
                ort.append(j["median_ms"])
                print(f"  {name} {size} threads {t} round {r + 1}: anvil {an[-1]:.2f} ms, ORT {ort[-1]:.2f} ms"
                      + (f", anvil direct-only {direct[-1]:.2f} ms" if direct else ""), file=sys.stderr)
            # Each round times anvil and ORT back to back, so its ratio
            # shares the host's load of the moment; the median of the round
            # ratios is the least disturbed by other tenants, the best
            # rounds' ratio (fastest anvil over fastest ORT) a second view.
            ratios = [x / y for x, y in zip(an, ort)]
            dr = statistics.median([x / y for x, y in zip(direct, ort)]) if direct else None
            rows.append((name, size, t, statistics.median(an), statistics.median(ort), statistics.median(ratios),
                         min(an) / min(ort), statistics.median(direct) if direct else None, dr, algos))

    print(f"{'model':<14} {'input':>5} {'thr':>3} {'anvil ms':>9} {'ORT ms':>9} {'anvil/ORT':>9} {'per-round':>9} "
          f"{'best/best':>9}" + (f" {'direct ms':>9} {'direct/ORT':>10}" if a.direct else "") + "  convs")
    for name, size, t, an, ort, rr, best, dm, dr, algos in rows:
        extra = f" {dm:>9.2f} {dr:>10.2f}" if dm is not None else ""
        print(f"{name:<14} {size:>5} {t:>3} {an:>9.2f} {ort:>9.2f} {an / ort:>9.2f} {rr:>9.2f} {best:>9.2f}{extra}  {algos}")


def algorithms(conv_kernels):
    """'w4:25 w2:2 d:77' from anvil bench's conv_kernels histogram."""
    w4 = sum(n for k, n in conv_kernels.items() if "winograd_f4x3" in k)
    w2 = sum(n for k, n in conv_kernels.items() if "winograd_f2x3" in k)
    d = sum(conv_kernels.values()) - w4 - w2
    return " ".join(f"{tag}:{n}" for tag, n in (("w4", w4), ("w2", w2), ("d", d)) if n)


if __name__ == "__main__":
    main()
