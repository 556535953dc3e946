"""Writes a small MXNet checkpoint (PREFIX-symbol.json + PREFIX-0000.params)
with NumPy alone: conv-BN-relu-pool-conv-BN-relu-global pool-FC, as
MXNet 1.x saves it (NDArray list format v2, "arg:"/"aux:" names)."""
import json
import struct

import numpy as np


def _save_params(path, arrays):
    out = bytearray()
    out += struct.pack("<QQQ", 0x112, 0, len(arrays))
    for a in arrays.values():
        a = np.ascontiguousarray(a, dtype=np.float32)
        out += struct.pack("<Iii", 0xF993FAC9, 0, a.ndim)
        out += struct.pack("<%dq" % a.ndim, *a.shape)
        out += struct.pack("<iii", 1, 0, 0)  # cpu(0), float32
        out += a.tobytes()
    out += struct.pack("<Q", len(arrays))
    for name in arrays:
        b = name.encode()
        out += struct.pack("<Q", len(b)) + b
    with open(path, "wb") as f:
        f.write(out)


def write_tiny_mxnet(prefix, seed=0, classes=10):
    rng = np.random.default_rng(seed)
    nodes, params = [], {}

    def var(name, shape=None, aux=False):
        nodes.append({"op": "null", "name": name, "inputs": []})
        if shape is not None:
            scale = 1.0 / np.sqrt(np.prod(shape[1:])) if len(shape) > 1 else 1.0
            v = rng.standard_normal(shape).astype(np.float32) * scale
            if name.endswith("_gamma"):
                v = 1.0 + 0.1 * v
            if name.endswith("_moving_var"):
                v = 0.5 + np.abs(v)
            params[("aux:" if aux else "arg:") + name] = v
        return len(nodes) - 1

    def op(kind, name, inputs, **attrs):
        nodes.append({"op": kind, "name": name, "attrs": {k: str(v) for k, v in attrs.items()},
                      "inputs": [[i, 0, 0] for i in inputs]})
        return len(nodes) - 1

    def conv_bn_relu(x, name, cin, cout):
        w = var(name + "_weight", (cout, cin, 3, 3))
        c = op("Convolution", name, [x, w], kernel="(3, 3)", pad="(1, 1)", num_filter=cout, no_bias="True")
        bn = op("BatchNorm", name + "_bn",
                [c, var(name + "_bn_gamma", (cout,)), var(name + "_bn_beta", (cout,)),
                 var(name + "_bn_moving_mean", (cout,), aux=True), var(name + "_bn_moving_var", (cout,), aux=True)],
                eps="2e-05", fix_gamma="False")
        return op("Activation", name + "_relu", [bn], act_type="relu")

    x = var("data")
    x = conv_bn_relu(x, "conv0", 3, 8)
    x = op("Pooling", "pool0", [x], kernel="(2, 2)", stride="(2, 2)", pool_type="max")
    x = conv_bn_relu(x, "conv1", 8, 16)
    x = op("Pooling", "pool1", [x], kernel="(1, 1)", global_pool="True", pool_type="avg")
    x = op("Flatten", "flatten0", [x])
    x = op("FullyConnected", "fc1", [x, var("fc1_weight", (classes, 16)), var("fc1_bias", (classes,))],
           num_hidden=classes)
    sym = {
        "nodes": nodes,
        "arg_nodes": [i for i, n in enumerate(nodes) if n["op"] == "null"],
        "node_row_ptr": list(range(len(nodes) + 1)),
        "heads": [[x, 0, 0]],
        "attrs": {"mxnet_version": ["int", 10900]},
    }
    with open(prefix + "-symbol.json", "w") as f:
        json.dump(sym, f, indent=2)
    _save_params(prefix + "-0000.params", params)
    return prefix
