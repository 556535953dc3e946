"""The anvil Python module: load/compile/run with NumPy, the same numbers as
the CLI, errors as anvil.Error, concurrent runs, the GIL released."""
import os
import subprocess
import threading
import time

import numpy as np
import pytest

import anvil


def rand(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=shape).astype(np.float32)


# --- load, inspect, run ----------------------------------------------------

def test_mxnet_load_compile_run(tiny_mxnet):
    m = anvil.load(tiny_mxnet + "-symbol.json", shapes={"data": (1, 3, 112, 112)})
    assert [(i.name, i.dtype, i.shape) for i in m.inputs] == [("data", "float32", (1, 3, 112, 112))]
    assert [(o.name, o.shape) for o in m.outputs] == [("fc1_output", (1, 10))]
    s = m.compile(threads=2, opt_level=3)
    assert s.threads == 2
    y = s.run({"data": rand((1, 3, 112, 112))})
    assert list(y) == ["fc1_output"]
    assert isinstance(y["fc1_output"], np.ndarray)
    assert y["fc1_output"].shape == (1, 10) and y["fc1_output"].dtype == np.float32
    assert np.isfinite(y["fc1_output"]).all()
    # The other spellings of a checkpoint load the same model.
    for path in (tiny_mxnet, tiny_mxnet + "-0000.params"):
        assert [o.name for o in anvil.load(path, shapes={"data": (1, 3, 112, 112)}).outputs] == ["fc1_output"]


@pytest.mark.parametrize("model", ["onnx", "mxnet"])
def test_same_result_as_cli(model, tiny_onnx, tiny_mxnet, cli, workdir):
    if model == "onnx":
        path, name, shape = tiny_onnx, "input", (2, 3, 32, 32)
    else:
        path, name, shape = tiny_mxnet + "-symbol.json", "data", (2, 3, 64, 64)
    x = rand(shape, seed=3)
    out_dir = workdir / f"cli_{model}"
    np.save(workdir / f"x_{model}.npy", x)
    subprocess.run([cli, "run", path, "--input", f"{name}={workdir / f'x_{model}.npy'}", "--threads", "1",
                    "--output-dir", str(out_dir)], check=True, capture_output=True)
    m = anvil.load(path, shapes={name: shape})
    y = m.compile(threads=1).run({name: x})
    (out_name,) = y
    ref = np.load(out_dir / f"{out_name}.npy")
    assert ref.shape == y[out_name].shape
    np.testing.assert_array_equal(y[out_name], ref)


def test_inputs_are_converted_and_read_in_place(tiny_onnx):
    s = anvil.load(tiny_onnx).compile(threads=1)
    x = rand((1, 3, 32, 32))
    ref = s.run({"input": x})["output"]
    # float64, non-contiguous and a bare array (one-input model) all work.
    np.testing.assert_allclose(s.run({"input": x.astype(np.float64)})["output"], ref, rtol=1e-6)
    big = np.zeros((1, 3, 32, 64), np.float32)
    big[..., ::2] = x
    np.testing.assert_array_equal(s.run({"input": big[..., ::2]})["output"], ref)
    np.testing.assert_array_equal(s.run(x)["output"], ref)
    # The caller's array is not modified.
    x_copy = x.copy()
    s.run({"input": x})
    np.testing.assert_array_equal(x, x_copy)


def test_output_subset_and_extra_outputs(tiny_mxnet):
    m = anvil.load(tiny_mxnet, shapes={"data": (1, 3, 32, 32)})
    x = rand((1, 3, 32, 32))
    # An internal tensor by node name (MXNet style), after the model's output.
    s = m.compile(threads=1, extra_outputs=["conv0_relu"])
    assert [(o.name, o.shape) for o in s.outputs] == [("fc1_output", (1, 10)), ("conv0_relu_output", (1, 8, 32, 32))]
    y = s.run({"data": x})
    assert y["conv0_relu_output"].min() >= 0  # after a ReLU
    np.testing.assert_array_equal(y["fc1_output"], m.compile(threads=1).run({"data": x})["fc1_output"])
    only = s.run({"data": x}, outputs=["conv0_relu_output"])
    assert list(only) == ["conv0_relu_output"]
    np.testing.assert_array_equal(only["conv0_relu_output"], y["conv0_relu_output"])
    assert list(s.run({"data": x}, outputs="fc1_output")) == ["fc1_output"]
    assert list(s.run({"data": x}, outputs=[])) == []


def test_compile_options(tiny_onnx):
    m = anvil.load(tiny_onnx)
    x = rand((1, 3, 32, 32))
    ref = m.compile(threads=1).run({"input": x})["output"]
    for kw in ({"opt_level": 0}, {"opt_level": 2, "disable_passes": ["fold_batchnorm"]},
               {"max_isa": "scalar"}, {"threads": 2}, {"flush_denormals": False}, {"max_concurrency": 1}):
        s = m.compile(**kw)
        np.testing.assert_allclose(s.run({"input": x})["output"], ref, rtol=1e-4, atol=1e-6, err_msg=str(kw))
    assert m.compile(max_isa="scalar").isa == "scalar"
    assert "folded" in m.compile().optimization_report


def test_sessions_share_weights_and_reserve(tiny_onnx):
    one = anvil.load(tiny_onnx).compile(threads=1)
    four = anvil.load(tiny_onnx, shapes={"input": (4, 3, 32, 32)}).compile(threads=1, share_weights_with=one)
    assert "weights shared with another session" in four.optimization_report
    assert "weights shared" not in one.optimization_report
    x = rand((4, 3, 32, 32))
    y4 = four.run({"input": x})["output"]
    for r in range(4):
        y1 = one.run({"input": np.ascontiguousarray(x[r:r + 1])})["output"]
        np.testing.assert_allclose(y4[r:r + 1], y1, rtol=1e-5, atol=1e-6)
    del one  # the shared weights stay with `four`
    np.testing.assert_array_equal(four.run({"input": x})["output"], y4)
    s = anvil.load(tiny_onnx).compile(threads=1, max_concurrency=2)
    assert s.executors == 1
    s.reserve(3)
    assert s.executors == 2
    with pytest.raises(anvil.Error):
        s.reserve(-1)
    with pytest.raises(TypeError, match="expected an anvil.Session"):
        anvil.load(tiny_onnx).compile(share_weights_with="not a session")


def test_compiled_model_round_trip(tiny_onnx, workdir, cli):
    m = anvil.load(tiny_onnx)
    assert not m.precompiled
    s = m.compile(threads=1)
    path = str(workdir / "tiny.anvil")
    s.save(path)
    m2 = anvil.load(path)
    assert m2.precompiled
    s2 = m2.compile(threads=2)
    assert "import and optimizer skipped" in s2.optimization_report
    x = rand((1, 3, 32, 32))
    np.testing.assert_array_equal(s2.run({"input": x})["output"], s.run({"input": x})["output"])
    # The CLI's compile writes the same kind of file, and checks it.
    out = str(workdir / "tiny_cli.anvil")
    r = subprocess.run([cli, "compile", tiny_onnx, "-o", out, "--threads", "1"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "max |diff| 0" in r.stdout and "import and optimizer" not in r.stderr
    np.testing.assert_array_equal(anvil.load(out).compile(threads=1).run({"input": x})["output"],
                                  s.run({"input": x})["output"])
    # Damage is an anvil.Error naming the file, never a crash.
    b = bytearray(open(path, "rb").read())
    b[len(b) // 2] ^= 0xFF
    bad = workdir / "bad.anvil"
    bad.write_bytes(bytes(b))
    with pytest.raises(anvil.Error, match="bad.anvil: checksum mismatch"):
        anvil.load(str(bad))


# --- bench, profile, check ---------------------------------------------------

def test_bench(tiny_onnx):
    s = anvil.load(tiny_onnx).compile(threads=1)
    b = s.bench(warmup=2, iters=7)
    for k in ("mean_ms", "median_ms", "p90_ms", "min_ms"):
        assert b[k] > 0, k
    assert b["min_ms"] <= b["median_ms"] <= b["p90_ms"]
    assert len(b["runs_ms"]) == 7
    assert s.bench({"input": rand((1, 3, 32, 32))}, warmup=0, iters=1)["iters"] == 1
    with pytest.raises(anvil.Error, match="iters"):
        s.bench(iters=0)


def test_profile(tiny_onnx):
    s = anvil.load(tiny_onnx).compile(threads=1)
    p = s.profile(iters=3, warmup=1, measure_peak=False)
    assert p["iters"] == 3 and p["threads"] == 1
    assert len(p["nodes"]) > 0
    node = p["nodes"][0]
    assert {"name", "op", "kernel"} <= set(node)
    assert len(p["runs_ms"]) == 3


def test_check(tiny_onnx, tiny_mxnet):
    r = anvil.check(tiny_onnx)
    assert r["ok"] is True
    assert r["levels"] == ("O0", "O3")
    assert [o["name"] for o in r["outputs"]] == ["output"]
    assert r["outputs"][0]["rel"] < 1e-4
    assert "output" in r["text"]
    r = anvil.check(tiny_mxnet, levels="O1,O2", shapes={"data": (1, 3, 32, 32)}, per_layer=True)
    assert r["ok"] and r["levels"] == ("O1", "O2") and len(r["layers"]) > 0
    r = anvil.check(anvil.load(tiny_onnx), levels=(0, 3), inputs={"input": rand((1, 3, 32, 32))})
    assert r["ok"]
    with pytest.raises(anvil.Error, match="bad level"):
        anvil.check(tiny_onnx, levels=("O0", "O7"))


# --- errors ----------------------------------------------------------------

def test_error_is_a_runtime_error():
    assert issubclass(anvil.Error, RuntimeError)


def test_bad_path(workdir):
    missing = str(workdir / "missing.onnx")
    with pytest.raises(anvil.Error, match="missing.onnx: no such file") as e:
        anvil.load(missing)
    assert e.value.code == "not found"
    bad = workdir / "garbage.onnx"
    bad.write_bytes(b"\x00not a model\xff" * 10)
    with pytest.raises(anvil.Error, match="garbage.onnx"):
        anvil.load(str(bad))


def test_bad_shapes(tiny_onnx, tiny_mxnet):
    s = anvil.load(tiny_onnx).compile(threads=1)
    with pytest.raises(anvil.Error, match=r"input 'input' expects f32\[1x3x32x32\], got f32\[1x3x16x16\]") as e:
        s.run({"input": np.zeros((1, 3, 16, 16), np.float32)})
    assert e.value.code == "invalid argument"
    with pytest.raises(anvil.Error, match="shape of 'data'"):
        anvil.load(tiny_mxnet, shapes={"data": (1, 3, "x", 4)})
    with pytest.raises(anvil.Error, match="negative"):
        anvil.load(tiny_mxnet, shapes={"data": (1, 3, -5, 4)})
    # A shape the model cannot take (conv input with 5 channels).
    with pytest.raises(anvil.Error, match="conv0"):
        anvil.load(tiny_mxnet, shapes={"data": (1, 5, 32, 32)}).compile()


def test_tune(tiny_onnx, workdir, monkeypatch):
    cache = os.path.join(workdir, "tune", "tune.json")
    monkeypatch.setenv("ANVIL_TUNE_CACHE", cache)
    m = anvil.load(tiny_onnx)
    x = rand((1, 3, 32, 32))
    ref = m.compile(threads=1).run({"input": x})["output"]
    got = m.compile(threads=1, tune="fast").run({"input": x})["output"]
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6)
    assert os.path.exists(cache)
    with pytest.raises(anvil.Error, match="not one of off, fast, full"):
        m.compile(tune="always")


def test_wrong_input_and_output_names(tiny_onnx):
    s = anvil.load(tiny_onnx).compile(threads=1)
    x = rand((1, 3, 32, 32))
    with pytest.raises(anvil.Error, match=r"'data' is not an input of the model \(inputs: input\)"):
        s.run({"data": x})
    with pytest.raises(anvil.Error, match="missing input 'input'"):
        s.run({})
    with pytest.raises(anvil.Error, match=r"'logits' is not an output of the model \(outputs: output\)"):
        s.run({"input": x}, outputs=["logits"])
    with pytest.raises(anvil.Error, match="expects float32, got <U"):
        s.run({"input": np.array(["a", "b"])})
    with pytest.raises(anvil.Error, match="unknown ISA 'sse9'"):
        anvil.load(tiny_onnx).compile(max_isa="sse9")
    with pytest.raises(anvil.Error, match="no tensor or node named 'nope'"):
        anvil.load(tiny_onnx).compile(extra_outputs=["nope"])


# --- threads ----------------------------------------------------------------

def test_concurrent_runs_match_serial(tiny_onnx):
    s = anvil.load(tiny_onnx, shapes={"input": (2, 3, 32, 32)}).compile(threads=1)
    xs = [rand((2, 3, 32, 32), seed=i) for i in range(24)]
    expected = [s.run({"input": x})["output"] for x in xs]
    results = [None] * len(xs)
    errors = []

    def worker(k):
        try:
            for i in range(k, len(xs), 4):
                for _ in range(3):
                    y = s.run({"input": xs[i]})["output"]
                    if results[i] is not None and not np.array_equal(results[i], y):
                        errors.append(f"run {i} changed between repeats")
                    results[i] = y
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i, (y, ref) in enumerate(zip(results, expected)):
        np.testing.assert_array_equal(y, ref, err_msg=f"input {i}")


def test_gil_released_while_running(tiny_onnx, workdir):
    # A run long enough to see: tiny_cnn on 384x384 images, batch 4, or as
    # many more as this host needs for ~60 ms (a Zen 5 ran batch 4 in 20 ms).
    batch = 4
    for _ in range(2):
        big = anvil.zoo("tiny_cnn", str(workdir / f"tiny_cnn_384_{batch}.onnx"), input_shape=(batch, 3, 384, 384))
        s = anvil.load(big).compile(threads=1)
        x = rand((batch, 3, 384, 384))
        s.run({"input": x})  # warm
        t0 = time.perf_counter()
        s.run({"input": x})
        one_run = time.perf_counter() - t0
        if one_run >= 0.04:
            break
        batch = min(64, int(batch * 0.06 / max(one_run, 1e-3)) + 1)

    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.0005)

    bg = threading.Thread(target=ticker)
    bg.start()
    try:
        time.sleep(0.01)
        start = time.perf_counter()
        s.run({"input": x})
        end = time.perf_counter()
    finally:
        stop.set()
        bg.join()
    during = [t for t in ticks if start < t < end]
    # With the GIL held through the run the ticker could not tick at all.
    assert end - start > 0.02, f"the run is too short to tell ({one_run * 1e3:.1f} ms at batch {batch})"
    assert len(during) >= 3, f"{len(during)} ticks during a {1e3 * (end - start):.1f} ms run"


def test_memory_limit(tiny_onnx):
    m = anvil.load(tiny_onnx)
    with pytest.raises(anvil.Error, match=r"the memory limit is 4\.0 KiB \(CompileOptions::memory_limit") as e:
        m.compile(threads=1, memory_limit=4096)
    assert e.value.code == "out of range"
    assert "needs at least" in str(e.value)
    # -1: no limit; the default (physical memory) holds a small model.
    x = rand((1, 3, 32, 32))
    np.testing.assert_allclose(m.compile(threads=1, memory_limit=-1).run({"input": x})["output"],
                               m.compile(threads=1).run({"input": x})["output"], rtol=1e-6)
