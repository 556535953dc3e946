// The `anvil` Python module: load -> compile -> run with NumPy arrays.
//
//   import anvil
//   m = anvil.load("model-symbol.json", shapes={"data": (1, 3, 112, 112)})
//   s = m.compile(threads=2)
//   y = s.run({"data": x})          # {"fc1": ndarray}
//
// Inputs are read in place when they are C-contiguous arrays of the model's
// dtype; outputs are NumPy arrays the kernels write into directly (zero
// copy). The GIL is released while anvil works (load, compile, run, bench,
// profile, check), so one Session serves many Python threads in parallel.
// Errors raise anvil.Error (a RuntimeError) with anvil's message; its
// `code` attribute is the status code ("invalid argument", "not found", ...).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "anvil/anvil.h"
#include "frontend/onnx/onnx_export.h"
#include "ir/op_registry.h"
#include "runtime/check.h"
#include "runtime/profiler.h"
#include "zoo/zoo.h"

namespace py = pybind11;
using namespace anvil;

namespace {

// Carries a failed Status to the translator that raises anvil.Error.
struct StatusError {
  Status status;
};

// Leaked on purpose: a static py::object would be released after the
// interpreter has shut down.
py::object& error_type() {
  static py::object* t = new py::object();
  return *t;
}

[[noreturn]] void raise(const Status& s) { throw StatusError{s}; }

template <class T>
T unwrap(Result<T>&& r) {
  if (!r.is_ok()) raise(r.status());
  return std::move(r).value();
}

void check_ok(const Status& s) {
  if (!s.is_ok()) raise(s);
}

// Runs `f` (returning a Status) with the GIL released, then raises on error.
template <class F>
void check_ok_nogil(F&& f) {
  Status st;
  {
    py::gil_scoped_release nogil;
    st = f();
  }
  check_ok(st);
}

const char* numpy_name(DType t) {
  switch (t) {
    case DType::kF32: return "float32";
    case DType::kF16: return "float16";
    case DType::kF64: return "float64";
    case DType::kI8: return "int8";
    case DType::kU8: return "uint8";
    case DType::kI32: return "int32";
    case DType::kI64: return "int64";
    case DType::kBool: return "bool";
    case DType::kBF16: return nullptr;  // no NumPy dtype
  }
  return nullptr;
}

py::dtype numpy_dtype(DType t, const std::string& what) {
  const char* n = numpy_name(t);
  if (!n) raise(unsupported(what + ": " + dtype_name(t) + " has no NumPy dtype"));
  return py::dtype(n);
}

char dtype_kind(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kF64: case DType::kBF16: return 'f';
    case DType::kBool: return 'b';
    default: return 'i';
  }
}

std::vector<int64_t> dims_of(const py::array& a) {
  std::vector<int64_t> d;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) d.push_back(static_cast<int64_t>(a.shape(i)));
  return d;
}

py::tuple shape_tuple(const Shape& s) {
  py::tuple t(s.rank());
  for (size_t i = 0; i < s.rank(); ++i) t[i] = s[i] < 0 ? py::object(py::none()) : py::object(py::int_(s[i]));
  return t;
}

Shape shape_from(py::handle h, const std::string& name) {
  std::vector<int64_t> d;
  try {
    for (py::handle x : h) d.push_back(x.cast<int64_t>());
  } catch (const py::cast_error&) {
    raise(invalid_argument("shape of '" + name + "' must be a sequence of ints, got " +
                           std::string(py::str(h))));
  }
  for (int64_t v : d)
    if (v < 0) raise(invalid_argument("shape of '" + name + "' has a negative dimension: " + std::string(py::str(h))));
  return Shape(std::move(d));
}

// An input as an array anvil can read in place: C-contiguous, the model's
// dtype (floats convert to the model's float type, ints to its int type;
// other kind changes are errors). Shape is checked by anvil.
py::array as_input_array(py::handle obj, const TensorInfo& ti) {
  py::dtype want = numpy_dtype(ti.dtype, "input '" + ti.name + "'");
  py::array a = py::array::ensure(obj);
  if (!a) raise(invalid_argument("input '" + ti.name + "' must be array-like, got " +
                                 std::string(py::str(py::type::of(obj)))));
  const char kind = a.dtype().kind();
  const char want_kind = dtype_kind(ti.dtype);
  // Same kind (float64 -> float32, int32 -> int64), or integers to floats.
  const bool compatible = kind == want_kind || (want_kind == 'i' && kind == 'u') ||
                          (want_kind == 'f' && (kind == 'i' || kind == 'u'));
  if (!a.dtype().is(want) && !compatible)
    raise(invalid_argument("input '" + ti.name + "' expects " + numpy_name(ti.dtype) + ", got " +
                           std::string(py::str(a.dtype()))));
  return py::array::ensure(a.attr("astype")(want, py::arg("order") = "C", py::arg("copy") = false),
                           py::array::c_style);
}

Tensor wrap_array(py::array& a, DType t) {
  return Tensor::wrap(t, Shape(dims_of(a)), a.mutable_data());
}

// Deterministic uniform [-1, 1] (floats) input, as the CLI's default.
Tensor random_tensor(const TensorInfo& ti, uint64_t seed) {
  Tensor t(ti.dtype, ti.shape);
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const double u = static_cast<double>(s >> 11) * (1.0 / 9007199254740992.0);
    switch (ti.dtype) {
      case DType::kF32: t.data<float>()[i] = static_cast<float>(2 * u - 1); break;
      case DType::kF64: t.data<double>()[i] = 2 * u - 1; break;
      case DType::kI64: t.data<int64_t>()[i] = static_cast<int64_t>(u * 10); break;
      case DType::kI32: t.data<int32_t>()[i] = static_cast<int32_t>(u * 10); break;
      case DType::kU8: t.data<uint8_t>()[i] = static_cast<uint8_t>(u * 255); break;
      default: break;
    }
  }
  return t;
}

// Inputs by name for a session: given arrays (kept alive in `keep`) or,
// for inputs not given when `fill_missing`, seeded noise.
std::map<std::string, Tensor> gather_inputs(const Session& s, const py::object& inputs, std::vector<py::array>& keep,
                                            bool fill_missing, uint64_t seed) {
  std::map<std::string, Tensor> r;
  py::dict given;
  if (!inputs.is_none()) {
    if (!py::isinstance<py::dict>(inputs)) {
      // A single array for a single-input model.
      if (s.inputs().size() != 1)
        raise(invalid_argument("the model has " + std::to_string(s.inputs().size()) +
                               " inputs: pass a dict of name -> array"));
      given[py::str(s.inputs()[0].name)] = inputs;
    } else {
      given = inputs.cast<py::dict>();
    }
  }
  for (auto [k, v] : given) {
    const std::string name = py::str(k);
    const TensorInfo* ti = nullptr;
    for (const TensorInfo& i : s.inputs())
      if (i.name == name) ti = &i;
    if (!ti) {
      std::string all;
      for (const TensorInfo& i : s.inputs()) all += (all.empty() ? "" : ", ") + i.name;
      raise(invalid_argument("'" + name + "' is not an input of the model (inputs: " + all + ")"));
    }
    keep.push_back(as_input_array(v, *ti));
    r[name] = wrap_array(keep.back(), ti->dtype);
  }
  if (fill_missing)
    for (const TensorInfo& ti : s.inputs())
      if (!r.count(ti.name)) r[ti.name] = random_tensor(ti, seed);
  return r;
}

py::dict tensor_diff_dict(const TensorDiff& d) {
  py::dict o;
  o["name"] = d.name;
  o["max_abs"] = d.max_abs;
  o["max_ref"] = d.max_ref;
  o["rel"] = d.rel;
  o["ok"] = d.ok;
  o["note"] = d.note;
  return o;
}

int parse_level(py::handle h) {
  if (py::isinstance<py::int_>(h)) return h.cast<int>();
  std::string s = py::str(h);
  if (!s.empty() && (s[0] == 'O' || s[0] == 'o')) s = s.substr(1);
  if (s.size() == 1 && s[0] >= '0' && s[0] <= '3') return s[0] - '0';
  raise(invalid_argument("bad level '" + std::string(py::str(h)) + "': expected O0..O3 or 0..3"));
}

LoadOptions load_options(const py::object& shapes, int epoch, bool allow_missing) {
  LoadOptions lo;
  lo.epoch = epoch;
  lo.allow_missing = allow_missing;
  if (!shapes.is_none()) {
    if (!py::isinstance<py::dict>(shapes)) raise(invalid_argument("shapes must be a dict of input name -> shape"));
    for (auto [k, v] : shapes.cast<py::dict>()) {
      const std::string name = py::str(k);
      lo.shapes[name] = shape_from(v, name);
    }
  }
  return lo;
}

Model load_model(const std::string& path, const py::object& shapes, int epoch, bool allow_missing) {
  LoadOptions lo = load_options(shapes, epoch, allow_missing);
  py::gil_scoped_release nogil;
  return unwrap(Model::load(path, lo));
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string info_repr(const TensorInfo& t) {
  return "TensorInfo(name='" + t.name + "', dtype='" + (numpy_name(t.dtype) ? numpy_name(t.dtype) : dtype_name(t.dtype)) +
         "', shape=" + std::string(py::str(shape_tuple(t.shape))) + ")";
}

}  // namespace

PYBIND11_MODULE(anvil, m) {
  m.doc() = "anvil: a CPU inference engine for CNNs (ONNX, MXNet)";
  m.attr("__version__") = ANVIL_VERSION;
  register_all_ops();

  // anvil.Error(RuntimeError), with .code set to anvil's status code name.
  error_type() = py::reinterpret_steal<py::object>(
      PyErr_NewExceptionWithDoc("anvil.Error", "An anvil error; .code is the status code (e.g. 'not found').",
                                PyExc_RuntimeError, nullptr));
  m.attr("Error") = error_type();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      py::object exc = error_type()(e.status.message());
      exc.attr("code") = status_code_name(e.status.code());
      PyErr_SetObject(error_type().ptr(), exc.ptr());
    }
  });

  py::class_<TensorInfo>(m, "TensorInfo", "Name, NumPy dtype and shape (None for a dynamic dimension).")
      .def_readonly("name", &TensorInfo::name)
      .def_property_readonly("dtype", [](const TensorInfo& t) -> std::string {
        return numpy_name(t.dtype) ? numpy_name(t.dtype) : dtype_name(t.dtype);
      })
      .def_property_readonly("shape", [](const TensorInfo& t) { return shape_tuple(t.shape); })
      .def("__repr__", &info_repr);

  py::class_<Session>(m, "Session", "A compiled model. run() is thread-safe; each concurrent call gets its own "
                                    "activation memory.")
      .def_property_readonly("inputs", &Session::inputs)
      .def_property_readonly("outputs", &Session::outputs)
      .def_property_readonly("threads", &Session::threads)
      .def_property_readonly("isa", &Session::isa)
      .def_property_readonly("optimization_report", &Session::optimization_report)
      .def_property_readonly("executors", &Session::executors,
                             "Executors made so far (one per concurrent run(); see reserve).")
      .def(
          "reserve",
          [](const Session& s, int concurrent_runs) { check_ok_nogil([&] { return s.reserve(concurrent_runs); }); },
          py::arg("concurrent_runs"),
          "Makes the executors for that many simultaneous run() calls now (at most max_concurrency), so the "
          "first concurrent calls do not wait while one is made. They share the weights.")
      .def(
          "save",
          [](const Session& s, const std::string& path) { check_ok_nogil([&] { return s.save(path); }); },
          py::arg("path"),
          "Writes a compiled model (.anvil): optimized graph, kernel choices and packed weights. anvil.load(path) "
          "maps it back without importing or optimizing.")
      .def(
          "run",
          [](const Session& s, const py::object& inputs, const py::object& outputs) {
            std::vector<py::array> keep;
            std::map<std::string, Tensor> in = gather_inputs(s, inputs, keep, false, 0);
            // Outputs: fresh NumPy arrays the kernels write into.
            std::vector<std::string> names;
            if (outputs.is_none()) {
              for (const TensorInfo& ti : s.outputs()) names.push_back(ti.name);
            } else if (py::isinstance<py::str>(outputs)) {
              names.push_back(outputs.cast<std::string>());
            } else {
              for (py::handle h : outputs) names.push_back(py::str(h));
            }
            py::dict result;
            std::map<std::string, Tensor> out;
            for (const std::string& name : names) {
              const TensorInfo* ti = nullptr;
              for (const TensorInfo& i : s.outputs())
                if (i.name == name) ti = &i;
              if (!ti) {
                std::string all;
                for (const TensorInfo& i : s.outputs()) all += (all.empty() ? "" : ", ") + i.name;
                raise(invalid_argument("'" + name + "' is not an output of the model (outputs: " + all + ")"));
              }
              py::array a(numpy_dtype(ti->dtype, "output '" + name + "'"), ti->shape.dims());
              out[name] = wrap_array(a, ti->dtype);
              result[py::str(name)] = a;
            }
            check_ok_nogil([&] { return s.run(in, out); });
            return result;
          },
          py::arg("inputs"), py::arg("outputs") = py::none(),
          "Runs once. inputs: {name: array} (or one array for a one-input model). Returns {name: ndarray} for "
          "every output, or for the names in `outputs`.")
      .def(
          "bench",
          [](const Session& s, const py::object& inputs, int warmup, int iters, uint64_t seed) {
            if (iters < 1) raise(invalid_argument("bench: iters must be at least 1, got " + std::to_string(iters)));
            if (warmup < 0) raise(invalid_argument("bench: warmup must be >= 0, got " + std::to_string(warmup)));
            std::vector<py::array> keep;
            std::map<std::string, Tensor> in = gather_inputs(s, inputs, keep, true, seed);
            std::vector<double> ms;
            {
              py::gil_scoped_release nogil;
              for (int i = 0; i < warmup; ++i) check_ok(s.run(in).status());
              for (int i = 0; i < iters; ++i) {
                const auto t0 = std::chrono::steady_clock::now();
                auto y = s.run(in);
                const auto t1 = std::chrono::steady_clock::now();
                check_ok(y.status());
                ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
              }
            }
            std::vector<double> sorted = ms;
            std::sort(sorted.begin(), sorted.end());
            const size_t p90 = std::min(sorted.size() - 1,
                                        static_cast<size_t>(std::ceil(0.9 * static_cast<double>(sorted.size()))) - 1);
            py::dict r;
            r["mean_ms"] = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
            r["median_ms"] = median_of(ms);
            r["p90_ms"] = sorted[p90];
            r["min_ms"] = sorted.front();
            r["max_ms"] = sorted.back();
            r["runs_ms"] = ms;
            r["warmup"] = warmup;
            r["iters"] = iters;
            r["threads"] = s.threads();
            return r;
          },
          py::arg("inputs") = py::none(), py::arg("warmup") = 5, py::arg("iters") = 10, py::arg("seed") = 0,
          "Times `iters` runs after `warmup` untimed ones (inputs not given: uniform [-1, 1] noise). Returns "
          "{mean_ms, median_ms, p90_ms, min_ms, max_ms, runs_ms, ...} per run.")
      .def(
          "profile",
          [](Session& s, const py::object& inputs, int iters, int warmup, bool measure_peak, uint64_t seed) {
            std::vector<py::array> keep;
            std::map<std::string, Tensor> in = gather_inputs(s, inputs, keep, true, seed);
            ProfileOptions po;
            po.iters = iters;
            po.warmup = warmup;
            po.measure_peak = measure_peak;
            std::string json;
            {
              py::gil_scoped_release nogil;
              Profile p = unwrap(profile_session(s, in, po));
              json = profile_to_json(p);
            }
            return py::module_::import("json").attr("loads")(json);
          },
          py::arg("inputs") = py::none(), py::arg("iters") = 20, py::arg("warmup") = 3,
          py::arg("measure_peak") = true, py::arg("seed") = 0,
          "Per-node profile (the JSON of `anvil profile --json`, as a dict).")
      .def("__repr__", [](const Session& s) {
        std::string r = "Session(inputs=[";
        for (size_t i = 0; i < s.inputs().size(); ++i) r += (i ? ", " : "") + info_repr(s.inputs()[i]);
        r += "], outputs=[";
        for (size_t i = 0; i < s.outputs().size(); ++i) r += (i ? ", " : "") + info_repr(s.outputs()[i]);
        return r + "], threads=" + std::to_string(s.threads()) + ", isa='" + s.isa() + "')";
      });

  py::class_<Model>(m, "Model", "An imported model (anvil.load); compile() it to run it.")
      .def_property_readonly("precompiled", &Model::precompiled,
                             "Loaded from a .anvil file: compile() skips the optimizer and packing.")
      .def_property_readonly("inputs", &Model::inputs)
      .def_property_readonly("outputs", &Model::outputs)
      .def(
          "compile",
          [](const Model& model, int threads, int opt_level, std::vector<std::string> disable_passes,
             std::vector<std::string> enable_passes, bool flush_denormals, std::vector<std::string> extra_outputs,
             std::optional<std::string> max_isa, int max_concurrency, bool exact, int64_t memory_limit,
             std::string tune, const py::object& share_weights_with) {
            CompileOptions co;
            co.threads = threads;
            co.opt_level = opt_level;
            co.disable_passes = std::move(disable_passes);
            co.enable_passes = std::move(enable_passes);
            co.flush_denormals = flush_denormals;
            co.extra_outputs = std::move(extra_outputs);
            co.max_isa = max_isa.value_or("");
            co.max_concurrency = max_concurrency;
            co.exact = exact;
            co.memory_limit = memory_limit;
            co.tune = std::move(tune);
            // The argument keeps the donor alive while the GIL is released.
            if (!share_weights_with.is_none()) {
              if (!py::isinstance<Session>(share_weights_with))
                throw py::type_error("share_weights_with: expected an anvil.Session, got " +
                                     std::string(py::str(py::type::of(share_weights_with))));
              co.share_weights_with = &share_weights_with.cast<const Session&>();
            }
            py::gil_scoped_release nogil;
            return unwrap(model.compile(co));
          },
          py::arg("threads") = 0, py::arg("opt_level") = 3, py::arg("disable_passes") = std::vector<std::string>{},
          py::arg("enable_passes") = std::vector<std::string>{}, py::arg("flush_denormals") = true,
          py::arg("extra_outputs") = std::vector<std::string>{}, py::arg("max_isa") = py::none(),
          py::arg("max_concurrency") = 0, py::arg("exact") = false, py::arg("memory_limit") = 0,
          py::arg("tune") = "off", py::arg("share_weights_with") = py::none(),
          "Optimizes and prepares the model. threads=0: one per core. max_isa: 'scalar', 'avx2' or 'avx512'. "
          "exact=True: direct summation for every conv (no Winograd). memory_limit: bytes a model may need "
          "(0: ANVIL_MAX_MEMORY or physical memory, -1: none); over it, compile raises. tune: 'off', 'fast' or "
          "'full': time every candidate kernel of each conv on this host (choices cached in ANVIL_TUNE_CACHE or "
          "~/.cache/anvil/tune.json). share_weights_with: a Session of the same model (e.g. another batch "
          "size) whose identical weights and packed weights this one shares instead of copying.")
      .def("__repr__", [](const Model& md) {
        std::string r = "Model(inputs=[";
        const auto in = md.inputs(), out = md.outputs();
        for (size_t i = 0; i < in.size(); ++i) r += (i ? ", " : "") + info_repr(in[i]);
        r += "], outputs=[";
        for (size_t i = 0; i < out.size(); ++i) r += (i ? ", " : "") + info_repr(out[i]);
        return r + "])";
      });

  m.def("load", &load_model, py::arg("path"), py::arg("shapes") = py::none(), py::arg("epoch") = 0,
        py::arg("allow_missing") = false,
        "Loads an ONNX file or an MXNet checkpoint (PREFIX, PREFIX-symbol.json or PREFIX-NNNN.params). "
        "shapes: {input name: shape} binds input shapes.");

  m.def(
      "check",
      [](const py::object& model, const py::object& levels, const py::object& shapes, const py::object& inputs,
         int threads, double tolerance, bool per_layer, bool bisect, uint64_t seed) {
        Model md = py::isinstance<Model>(model) ? model.cast<Model>()
                                                : load_model(py::str(model), shapes, 0, false);
        std::vector<int> lv;
        if (py::isinstance<py::str>(levels)) {
          std::string s = levels.cast<std::string>();
          size_t pos = 0;
          while (pos <= s.size()) {
            const size_t c = std::min(s.find(',', pos), s.size());
            lv.push_back(parse_level(py::str(s.substr(pos, c - pos))));
            pos = c + 1;
          }
        } else {
          for (py::handle h : levels) lv.push_back(parse_level(h));
        }
        if (lv.size() != 2) raise(invalid_argument("check: levels must name two levels, e.g. ('O0', 'O3')"));
        LevelCheckOptions o;
        o.level_a = lv[0];
        o.level_b = lv[1];
        o.base.threads = threads;
        o.tolerance = tolerance;
        o.per_layer = per_layer;
        o.bisect = bisect;
        // Inputs: as given, the rest seeded noise (shapes from the model).
        std::map<std::string, Tensor> in;
        std::vector<py::array> keep;
        py::dict given;
        if (!inputs.is_none()) given = inputs.cast<py::dict>();
        for (const TensorInfo& ti : md.inputs()) {
          if (!ti.shape.is_static())
            raise(invalid_argument("check: input '" + ti.name + "' has dynamic shape " + ti.shape.str() +
                                   "; bind it with shapes={...}"));
          if (given.contains(py::str(ti.name))) {
            keep.push_back(as_input_array(given[py::str(ti.name)], ti));
            in[ti.name] = wrap_array(keep.back(), ti.dtype);
          } else {
            in[ti.name] = random_tensor(ti, seed);
          }
        }
        LevelCheckReport r;
        {
          py::gil_scoped_release nogil;
          r = unwrap(check_levels(md, in, o));
        }
        py::dict d;
        d["ok"] = r.ok;
        d["levels"] = py::make_tuple("O" + std::to_string(r.level_a), "O" + std::to_string(r.level_b));
        d["tolerance"] = r.tolerance;
        py::list outs;
        for (const TensorDiff& t : r.outputs) outs.append(tensor_diff_dict(t));
        d["outputs"] = outs;
        py::list layers;
        for (const LayerDiff& l : r.layers) {
          py::dict x = tensor_diff_dict(l.diff);
          x["node"] = l.node;
          x["op"] = l.op;
          x["value"] = l.value;
          x["origin"] = l.origin;
          layers.append(x);
        }
        d["layers"] = layers;
        d["first_divergent"] = r.first_divergent;
        d["failing_pass"] = r.failing_pass.empty() ? py::object(py::none()) : py::object(py::str(r.failing_pass));
        d["bisect_log"] = r.bisect_log;
        d["optimization_report"] = r.optimization_report;
        d["text"] = r.to_text();
        return d;
      },
      py::arg("model"), py::arg("levels") = py::make_tuple("O0", "O3"), py::arg("shapes") = py::none(),
      py::arg("inputs") = py::none(), py::arg("threads") = 1, py::arg("tolerance") = 1e-4,
      py::arg("per_layer") = false, py::arg("bisect") = true, py::arg("seed") = 0,
      "Compiles a model (path or Model) at two -O levels, runs both on the same input and compares every "
      "output (per_layer: every layer). Returns a dict: ok, outputs [{name, max_abs, max_ref, rel, ok}], ...");

  m.def(
      "zoo",
      [](const std::string& name, const std::string& path, const py::object& input_shape, uint64_t seed,
         bool denormal_prone) {
        ZooOptions zo;
        zo.seed = seed;
        zo.denormal_prone = denormal_prone;
        if (!input_shape.is_none()) zo.input_shape = shape_from(input_shape, "input").dims();
        py::gil_scoped_release nogil;
        Graph g = unwrap(build_zoo_model(name, zo));
        check_ok(save_onnx(g, path));
        return path;
      },
      py::arg("name"), py::arg("path"), py::arg("input_shape") = py::none(), py::arg("seed") = 0,
      py::arg("denormal_prone") = false,
      "Writes a built-in model with synthetic weights to an ONNX file (names: anvil.zoo_names()).");
  m.def("zoo_names", &zoo_model_names);
}
