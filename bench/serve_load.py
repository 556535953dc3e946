#!/usr/bin/env python3
"""Load test for `anvil serve`: a bounded client, not a timed test.

Starts `anvil serve` on a free loopback port with a zoo model (or --model),
runs CONCURRENCY client threads for a fixed time, each sending binary-tensor
infer requests on a keep-alive connection, and reports throughput, p50/p90/p99
latency and the error count; then stops the server with SIGTERM and checks it
exits 0. Standard library only.

  bench/serve_load.py [--anvil build/anvil] [--zoo tiny_cnn | --model M.onnx --shape input:1,3,224,224]
                      [--seconds 10] [--concurrency 8] [--serve-arg=--max-batch=8 ...]
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"anvil serve exited with {proc.returncode} before it was ready")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/v2/health/ready")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("anvil serve did not become ready")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anvil", default=os.path.join(here, "..", "build", "anvil"))
    ap.add_argument("--zoo", default="tiny_cnn")
    ap.add_argument("--model", help="serve this model file instead of a zoo model")
    ap.add_argument("--shape", action="append", default=[], help="INPUT:D0,D1,... passed to anvil serve")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--serve-arg", action="append", default=[], help="extra anvil serve argument")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="anvil_load_")
    model = a.model
    if not model:
        model = os.path.join(tmp, a.zoo + ".onnx")
        subprocess.run([a.anvil, "zoo", a.zoo, "-o", model], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    cmd = [a.anvil, "serve", "--model", "m=" + model, "--port", str(port)] + sum(
        (["--shape", s] for s in a.shape), []) + a.serve_arg
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    errors = [0]
    try:
        wait_ready(port, proc)
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("GET", "/v2/models/m")
        meta = json.loads(c.getresponse().read())
        inp = meta["inputs"][0]
        shape = [1 if d < 0 else d for d in inp["shape"]]
        if inp["datatype"] != "FP32":
            sys.exit("this load test sends FP32 inputs only")
        n = 1
        for d in shape:
            n *= d
        payload = struct.pack(f"<{n}f", *[(i % 200) / 100.0 - 1.0 for i in range(n)])
        header = json.dumps({
            "inputs": [{"name": inp["name"], "shape": shape, "datatype": "FP32",
                        "parameters": {"binary_data_size": len(payload)}}],
            "parameters": {"binary_data_output": True}}).encode()
        body = header + payload
        headers = {"Inference-Header-Content-Length": str(len(header)),
                   "Content-Type": "application/octet-stream"}

        lat, lock = [], threading.Lock()
        stop_at = time.perf_counter() + a.seconds

        def client():
            mine, err = [], 0
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    conn.request("POST", "/v2/models/m/infer", body=body, headers=headers)
                    r = conn.getresponse()
                    r.read()
                    ok = r.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if ok:
                    mine.append(time.perf_counter() - t0)
                else:
                    err += 1
            with lock:
                lat.extend(mine)
                errors[0] += err

        t_start = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(a.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t_start
        lat.sort()

        def pct(p):
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000 if lat else float("nan")

        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("GET", "/metrics")
        metrics = c.getresponse().read().decode()
        batches = [l for l in metrics.splitlines() if l.startswith("anvil_inference_batch_size_") and "_bucket" not in l]
        print(f"model {model} input {shape}, {a.concurrency} clients for {a.seconds:g} s, args {' '.join(a.serve_arg)}")
        print(f"requests {len(lat)}  errors {errors[0]}  throughput {len(lat) / elapsed:.1f} req/s")
        print(f"latency ms: p50 {pct(50):.2f}  p90 {pct(90):.2f}  p99 {pct(99):.2f}  max {lat[-1] * 1000 if lat else 0:.2f}")
        for l in batches:
            print("  " + l)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "killed after 30 s"
        print(f"anvil serve exit status after SIGTERM: {rc}")
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if errors[0] == 0 and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
