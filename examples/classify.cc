// Classifies one input with anvil's public C++ API: load an ONNX model or an
// MXNet checkpoint, compile it, run it on a .npy input (or uniform noise) and
// print the top-5 classes of the first output.
//
//   classify MODEL [INPUT.npy] [--shape NAME:1,3,224,224] [--threads N]
//
// Built by anvil's own build (examples/) and, in the tests, as a separate
// CMake project against an installed anvil (find_package(anvil)).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <anvil/anvil.h>
#include <anvil/npy.h>

namespace {

int fail(const anvil::Status& s) {
  std::fprintf(stderr, "classify: %s\n", s.to_string().c_str());
  return 1;
}

// "data:1,3,112,112" -> name, shape.
bool parse_shape(const std::string& arg, std::string& name, anvil::Shape& shape) {
  const size_t colon = arg.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  name = arg.substr(0, colon);
  std::vector<int64_t> dims;
  size_t pos = colon + 1;
  while (pos <= arg.size()) {
    const size_t comma = std::min(arg.find(',', pos), arg.size());
    const std::string d = arg.substr(pos, comma - pos);
    if (d.empty()) return false;
    char* end = nullptr;
    const long long v = std::strtoll(d.c_str(), &end, 10);
    if (*end != '\0' || v <= 0) return false;
    dims.push_back(v);
    pos = comma + 1;
  }
  shape = anvil::Shape(std::move(dims));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, input_path;
  anvil::LoadOptions load;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--shape" && i + 1 < argc) {
      std::string name;
      anvil::Shape shape;
      if (!parse_shape(argv[++i], name, shape)) {
        std::fprintf(stderr, "classify: bad --shape '%s' (expected NAME:D0,D1,...)\n", argv[i]);
        return 2;
      }
      load.shapes[name] = shape;
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "classify: unknown option %s\n", a.c_str());
      return 2;
    } else if (model_path.empty()) {
      model_path = a;
    } else if (input_path.empty()) {
      input_path = a;
    } else {
      std::fprintf(stderr, "usage: classify MODEL [INPUT.npy] [--shape NAME:D0,D1,...] [--threads N]\n");
      return 2;
    }
  }
  if (model_path.empty()) {
    std::fprintf(stderr, "usage: classify MODEL [INPUT.npy] [--shape NAME:D0,D1,...] [--threads N]\n");
    return 2;
  }

  anvil::Tensor x;
  if (!input_path.empty()) {
    auto t = anvil::read_npy(input_path);
    if (!t) return fail(t.status());
    x = std::move(t).value();
  }
  // A model with a dynamic input takes its shape from the .npy file.
  auto probe = anvil::Model::load(model_path, load);
  if (!probe) return fail(probe.status());
  const anvil::TensorInfo first = probe->inputs().at(0);
  anvil::Result<anvil::Model> model = std::move(probe);
  if (x.defined() && !load.shapes.count(first.name) && !first.shape.is_static()) {
    load.shapes[first.name] = x.shape();
    model = anvil::Model::load(model_path, load);
    if (!model) return fail(model.status());
  }

  anvil::CompileOptions co;
  co.threads = threads;
  auto session = model->compile(co);
  if (!session) return fail(session.status());
  const anvil::TensorInfo in = session->inputs().at(0);
  if (!x.defined()) {
    // Uniform noise in [-1, 1] from a fixed seed.
    x = anvil::Tensor(in.dtype, in.shape);
    std::mt19937 rng(0);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
    std::printf("input %s: %s, uniform [-1, 1]\n", in.name.c_str(), x.desc().c_str());
  } else {
    if (x.dtype() != in.dtype) x = x.cast(in.dtype);
    std::printf("input %s: %s from %s\n", in.name.c_str(), x.desc().c_str(), input_path.c_str());
  }

  auto outputs = session->run({{in.name, x}});
  if (!outputs) return fail(outputs.status());
  const anvil::TensorInfo out = session->outputs().at(0);
  const anvil::Tensor& y = outputs->at(out.name);
  std::printf("output %s: %s (isa %s, %d thread%s)\n", out.name.c_str(), y.desc().c_str(), session->isa().c_str(),
              session->threads(), session->threads() == 1 ? "" : "s");
  const std::vector<float> v = y.to_f32_vector();
  // Top-5 of the first row (the first image of the batch).
  const size_t row = y.rank() >= 2 && y.dim(0) > 0 ? v.size() / static_cast<size_t>(y.dim(0)) : v.size();
  std::vector<size_t> idx(row);
  std::iota(idx.begin(), idx.end(), size_t{0});
  const size_t k = std::min<size_t>(5, row);
  std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(k), idx.end(),
                    [&](size_t a, size_t b) { return v[a] > v[b]; });
  std::printf("top-%zu:\n", k);
  for (size_t i = 0; i < k; ++i) std::printf("  class %4zu  %.6g\n", idx[i], v[idx[i]]);
  return 0;
}
