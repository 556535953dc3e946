#!/usr/bin/env python3
"""Writes tests/bad_inputs/files/ and cases.tsv: hand-made hostile inputs
(models, compiled models, .npy inputs, server requests), each with the error
anvil must answer with. Standard library only: the ONNX protobuf and the
MXNet/.npy/.anvil containers are encoded by hand here, so a file can break a
rule that an official writer would refuse to write.

  python3 tests/bad_inputs/make_cases.py   # rewrites the files; commit them

cases.tsv columns (tab-separated):
  file     path under files/ (an MXNet case names its -symbol.json)
  stage    load: Model::load fails; compile: load succeeds, compile() fails;
           npy: read_npy fails; request: the server's parse+check fails
  code     status_code_name() of the error: invalid model, unsupported, ...
  message  a substring the error message must contain
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "files")


# --- protobuf wire format (just what ONNX needs) ---------------------------
def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(field, v):
    return varint(field << 3 | 0) + varint(v)


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(field << 3 | 2) + varint(len(b)) + b


def f_float(field, v):
    return varint(field << 3 | 5) + struct.pack("<f", v)


FLOAT = 1


def tensor(name, dims, raw=None, floats=None, dtype=FLOAT, external=None):
    b = b"".join(f_varint(1, d) for d in dims) + f_varint(2, dtype) + f_bytes(8, name)
    if floats is not None:
        b += b"".join(f_float(4, x) for x in floats)
    if raw is not None:
        b += f_bytes(9, raw)
    if external is not None:
        b += f_bytes(13, f_bytes(1, "location") + f_bytes(2, external)) + f_varint(14, 1)
    return b


def value_info(name, dims, elem=FLOAT):
    shape = b"".join(f_bytes(1, f_varint(1, d)) for d in dims)
    tensor_type = f_varint(1, elem) + f_bytes(2, shape)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def attr_ints(name, vals):
    return f_bytes(1, name) + b"".join(f_varint(8, v) for v in vals) + f_varint(20, 7)


def node(op, inputs, outputs, name="", attrs=()):
    b = b"".join(f_bytes(1, i) for i in inputs) + b"".join(f_bytes(2, o) for o in outputs)
    b += f_bytes(3, name or op.lower()) + f_bytes(4, op)
    b += b"".join(f_bytes(5, a) for a in attrs)
    return b


def graph(nodes, inputs, outputs, inits=()):
    b = b"".join(f_bytes(1, n) for n in nodes) + f_bytes(2, "g")
    b += b"".join(f_bytes(5, t) for t in inits)
    b += b"".join(f_bytes(11, v) for v in inputs) + b"".join(f_bytes(12, v) for v in outputs)
    return b


def model(g, opset=13, ir_version=7):
    b = f_varint(1, ir_version) if ir_version is not None else b""
    if opset is not None:
        b += f_bytes(8, f_bytes(1, "") + f_varint(2, opset))
    return b + f_bytes(2, "anvil-bad-inputs") + f_bytes(7, g)


def relu_model(in_dims=(1, 2, 4, 4), **kw):
    return model(graph([node("Relu", ["x"], ["y"])], [value_info("x", in_dims)], [value_info("y", in_dims)]), **kw)


# --- MXNet ------------------------------------------------------------------
def mx_symbol(nodes, heads, arg_nodes):
    import json
    return json.dumps({"nodes": nodes, "arg_nodes": arg_nodes, "heads": heads,
                       "attrs": {"mxnet_version": ["int", 10600]}})


RELU_SYMBOL = mx_symbol(
    [{"op": "null", "name": "data", "inputs": []},
     {"op": "Activation", "name": "relu0", "attrs": {"act_type": "relu"}, "inputs": [[0, 0, 0]]}],
    [[1, 0, 0]], [0])


def ndarray_list(records, names=()):
    b = struct.pack("<QQQ", 0x112, 0, len(records)) + b"".join(records)
    b += struct.pack("<Q", len(names)) + b"".join(struct.pack("<Q", len(n)) + n.encode() for n in names)
    return b


def v2_record(dims, data=b"", flag=0):
    b = struct.pack("<Ii", 0xF993FAC9, 0) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<q", d) for d in dims)
    return b + struct.pack("<iii", 1, 0, flag) + data


# --- .npy -------------------------------------------------------------------
def npy(header, data=b"", major=1, header_len=None):
    h = header.encode()
    pad = (64 - (10 + len(h) + 1) % 64) % 64
    h = h + b" " * pad + b"\n"
    n = len(h) if header_len is None else header_len
    return b"\x93NUMPY" + bytes([major, 0]) + struct.pack("<H", n) + h + data


CASES = []


def case(file, stage, code, message, content):
    path = os.path.join(OUT, file)
    mode = "w" if isinstance(content, str) else "wb"
    with open(path, mode) as f:
        f.write(content)
    CASES.append((file, stage, code, message))


def mx_case(prefix, stage, code, message, symbol, params=None):
    # A broken symbol still needs a .params beside it to be read at all.
    if params is None:
        params = ndarray_list([])
    with open(os.path.join(OUT, prefix + "-0000.params"), "wb") as f:
        f.write(params)
    case(prefix + "-symbol.json", stage, code, message, symbol)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    x = value_info("x", [1, 2, 4, 4])
    y = value_info("y", [1, 2, 4, 4])

    # ONNX: containers and the checker.
    case("onnx_empty.onnx", "load", "invalid model", "the ONNX checker rejected the model", b"")
    case("onnx_garbage.onnx", "load", "invalid model", "not a valid ONNX model (protobuf parsing failed",
         bytes(range(256)) * 4)
    good = relu_model()
    case("onnx_truncated.onnx", "load", "invalid model", "protobuf parsing failed", good[: len(good) * 2 // 3])
    case("onnx_no_opset.onnx", "load", "invalid model", "opset_import", relu_model(opset=None))
    case("onnx_future_opset.onnx", "load", "unsupported", "ONNX opset 99 is not supported",
         relu_model(opset=99))
    case("onnx_unknown_op.onnx", "load", "invalid model", "FrobnicateV2",
         model(graph([node("FrobnicateV2", ["x"], ["y"])], [x], [y])))
    case("onnx_cycle.onnx", "load", "invalid model", "topologically sorted",
         model(graph([node("Relu", ["b"], ["a"], "r1"), node("Relu", ["a"], ["b"], "r2")], [x],
                     [value_info("b", [1, 2, 4, 4])])))
    case("onnx_output_never_produced.onnx", "load", "invalid model", "'z'",
         model(graph([node("Relu", ["x"], ["y"])], [x], [value_info("z", [1, 2, 4, 4])])))
    # ONNX: what the checker lets through and anvil's importer must catch.
    case("onnx_rank_bomb.onnx", "load", "invalid model", "has rank 1000, over anvil's limit of 32",
         model(graph([node("Relu", ["x"], ["y"])], [value_info("x", [1] * 1000)], [value_info("y", [1] * 1000)])))
    case("onnx_init_rank_bomb.onnx", "load", "invalid model", "tensor 'w' has rank 500",
         model(graph([node("Add", ["x", "w"], ["y"])], [x], [y], [tensor("w", [1] * 500, raw=b"\0\0\0\0")])))
    case("onnx_dims_overflow.onnx", "load", "invalid model", "dimensions whose product overflows",
         model(graph([node("Add", ["x", "w"], ["y"])], [x], [y],
                     [tensor("w", [3, 1 << 62], raw=b"\0\0\0\0")])))
    case("onnx_raw_too_short.onnx", "load", "invalid model", "needs 4000000 bytes of raw data but has 16",
         model(graph([node("Add", ["x", "w"], ["y"])], [x], [y], [tensor("w", [1000, 1000], raw=b"\0" * 16)])))
    case("onnx_floats_too_few.onnx", "load", "invalid model", "declares 1000000 elements but holds 3",
         model(graph([node("Add", ["x", "w"], ["y"])], [x], [y], [tensor("w", [1000, 1000], floats=[1, 2, 3])])))
    case("onnx_external_data.onnx", "load", "unsupported", "stores its data in an external file",
         model(graph([node("Add", ["x", "w"], ["y"])], [x], [y],
                     [tensor("w", [1, 2, 4, 4], external="weights.bin")])))
    # Compile: shapes that do not fit, and a model too big for memory.
    conv_w = tensor("w", [8, 5, 3, 3], raw=b"\0" * (8 * 5 * 9 * 4))
    case("onnx_conv_channels.onnx", "compile", "invalid model", "'conv'",
         model(graph([node("Conv", ["x", "w"], ["y"], "conv", [attr_ints("kernel_shape", [3, 3])])],
                     [value_info("x", [1, 3, 8, 8])], [value_info("y", [1, 8, 6, 6])], [conv_w])))
    side = 1 << 20
    case("onnx_huge_activation.onnx", "compile", "out of range", "the memory limit is",
         relu_model(in_dims=(1, 64, side, side)))

    # Not a case: a well-formed model the memory-limit test compiles.
    with open(os.path.join(OUT, "good_relu_64x8x8.onnx"), "wb") as f:
        f.write(relu_model(in_dims=(1, 64, 8, 8)))

    # MXNet: symbol JSON, then .params with a valid symbol beside it.
    mx_case("mx_not_json", "load", "invalid model", "not valid JSON", '{"nodes": [ {"op": "null", ')
    mx_case("mx_deep_nesting", "load", "invalid model", "JSON nested deeper than 64 levels",
            '{"nodes": ' + "[" * 200000 + "]" * 200000 + ', "heads": []}')
    mx_case("mx_dangling_input", "load", "invalid model", "dangling input", mx_symbol(
        [{"op": "null", "name": "data", "inputs": []},
         {"op": "Activation", "name": "relu0", "attrs": {"act_type": "relu"}, "inputs": [[99, 0, 0]]}],
        [[1, 0, 0]], [0]))
    mx_case("mx_cycle", "load", "invalid model", "the graph has a cycle", mx_symbol(
        [{"op": "null", "name": "data", "inputs": []},
         {"op": "elemwise_add", "name": "a", "inputs": [[0, 0, 0], [2, 0, 0]]},
         {"op": "Activation", "name": "b", "attrs": {"act_type": "relu"}, "inputs": [[1, 0, 0]]}],
        [[2, 0, 0]], [0]))
    mx_case("mx_no_heads", "load", "invalid model", 'no "heads" array', '{"nodes": []}')
    mx_case("mx_params_magic", "load", "invalid model", "header magic 0x113, expected 0x112", RELU_SYMBOL,
            struct.pack("<QQQ", 0x113, 0, 0))
    mx_case("mx_params_count_bomb", "load", "invalid model", "array count 1152921504606846976 cannot fit",
            RELU_SYMBOL, struct.pack("<QQQ", 0x112, 0, 1 << 60) + b"\0" * 16)
    mx_case("mx_params_absurd_ndim", "load", "invalid model", "absurd ndim 1000", RELU_SYMBOL,
            ndarray_list([struct.pack("<IiI", 0xF993FAC9, 0, 1000)]))
    mx_case("mx_params_huge_array", "load", "invalid model", "needs 4611686018427387904 data bytes", RELU_SYMBOL,
            ndarray_list([v2_record([1 << 30, 1 << 30], b"\0" * 8)], ["arg:w"]))
    mx_case("mx_params_names_mismatch", "load", "invalid model", "holds 1 arrays but 3", RELU_SYMBOL,
            ndarray_list([v2_record([1], b"\0" * 4)], ["arg:a", "arg:b", "arg:c"]))

    # Compiled models.
    case("anvil_junk.anvil", "load", "invalid model", "not an anvil compiled model (no .anvil magic number)", b"junk")
    case("anvil_truncated.anvil", "load", "invalid model", "truncated",
         b"\x89ANVIL\r\n" + struct.pack("<IIQ", 1, 0, 55680) + b"\0" * 40)

    # .npy inputs (anvil run --input, the Python module).
    case("npy_bad_magic.npy", "npy", "invalid argument", "not a .npy file: bad magic", b"PK\x03\x04" + b"\0" * 60)
    case("npy_header_bomb.npy", "npy", "invalid argument", "exceeds the limit",
         b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{}")
    case("npy_fortran.npy", "npy", "unsupported", "Fortran-order",
         npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", b"\0" * 16))
    case("npy_data_short.npy", "npy", "invalid argument", "truncated",
         npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 1000), }", b"\0" * 8))
    case("npy_shape_overflow.npy", "npy", "invalid argument", "overflow",
         npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"))

    # Server requests (POST /v2/models/M/infer bodies, JSON only).
    case("req_deep_nesting.json", "request", "invalid argument", "JSON nested deeper than",
         '{"inputs": ' + "[" * 100000 + "]" * 100000 + "}")
    case("req_shape_bomb.json", "request", "invalid argument", "shape",
         '{"inputs": [{"name": "input", "shape": [1099511627776, 1099511627776, 3, 2], "datatype": "FP32", '
         '"data": [1]}]}')
    case("req_bad_datatype.json", "request", "invalid argument", "FP99",
         '{"inputs": [{"name": "input", "shape": [1, 3, 2, 2], "datatype": "FP99", "data": [1]}]}')
    case("req_not_json.json", "request", "invalid argument", "JSON", '{"inputs": [')

    with open(os.path.join(HERE, "cases.tsv"), "w") as f:
        f.write("# Written by make_cases.py: file, stage, code, message substring.\n")
        for c in CASES:
            f.write("\t".join(c) + "\n")
    print(f"{len(CASES)} cases in {OUT}")


if __name__ == "__main__":
    main()
