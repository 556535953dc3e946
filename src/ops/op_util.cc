// Shared op helpers (resolve_window lives in window.cc).
#include "ops/op_util.h"

#include <algorithm>
#include <string>

namespace anvil::ops {
namespace {

std::string shape_list(const std::vector<Shape>& shapes) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (i) s += ", ";
    s += shapes[i].str();
  }
  return s;
}

std::string input_desc(const InputInfo& in) {
  return std::string(dtype_name(in.dtype)) + "[" + in.shape.str() + "]";
}

// Absent inputs are a malformed node, not a wrong type, so they get their
// own message and code.
Status require_input(const InferContext& c, size_t i) {
  if (c.has_input(i)) return Status::ok();
  return invalid_model(c.node.op + ": input " + std::to_string(i) + " is required but missing (node has " +
                       std::to_string(c.num_inputs()) + " input(s))");
}

}  // namespace

Status normalize_axis(int64_t& axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank) {
    std::string range = rank == 0 ? std::string("none for a scalar")
                                   : std::to_string(-rank) + ".." + std::to_string(rank - 1);
    return invalid_argument(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " +
                            std::to_string(rank) + " (valid: " + range + ")");
  }
  if (axis < 0) axis += rank;
  return Status::ok();
}

Status broadcast_shapes(const std::vector<Shape>& shapes, Shape& out) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.rank());
  std::vector<int64_t> dims(rank, 1);
  for (size_t k = 0; k < rank; ++k) {
    // Dimension k counted from the right, so shapes align at their last axis.
    int64_t cur = 1;
    bool unknown = false;
    for (const Shape& s : shapes) {
      if (k >= s.rank()) continue;
      const int64_t d = s[s.rank() - 1 - k];
      if (d == 1) continue;
      if (d < 0) {
        unknown = true;
        continue;
      }
      if (cur == 1) {
        cur = d;
      } else if (cur != d) {
        return invalid_argument("cannot broadcast shapes " + shape_list(shapes) + ": dimension " +
                                std::to_string(rank - 1 - k) + " (of the rank-" + std::to_string(rank) +
                                " result) is " + std::to_string(cur) + " in one and " + std::to_string(d) +
                                " in another");
      }
    }
    // An unbound dimension against only 1s stays unknown; against a known
    // size > 1 it must equal that size for the model to be valid.
    dims[rank - 1 - k] = (unknown && cur == 1) ? -1 : cur;
  }
  out = Shape(std::move(dims));
  return Status::ok();
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.rank(), 0);
  const size_t offset = out.rank() - in.rank();
  int64_t s = 1;
  for (size_t i = in.rank(); i-- > 0;) {
    strides[offset + i] = (in[i] == 1 && out[offset + i] != 1) ? 0 : s;
    s *= in[i];
  }
  return strides;
}

std::vector<int64_t> contiguous_strides(const Shape& s) {
  std::vector<int64_t> strides(s.rank(), 1);
  int64_t acc = 1;
  for (size_t i = s.rank(); i-- > 0;) {
    strides[i] = acc;
    acc *= s[i];
  }
  return strides;
}

Status expect_dtype(const InferContext& c, size_t i, std::initializer_list<DType> allowed) {
  ANVIL_TRY(require_input(c, i));
  const InputInfo& in = c.in(i);
  for (DType t : allowed) {
    if (t == in.dtype) return Status::ok();
  }
  std::string names;
  for (DType t : allowed) {
    if (!names.empty()) names += ", ";
    names += dtype_name(t);
  }
  return unsupported(c.node.op + ": input " + std::to_string(i) + " is " + input_desc(in) +
                     "; supported dtypes: " + names);
}

Status expect_rank(const InferContext& c, size_t i, size_t rank) {
  ANVIL_TRY(require_input(c, i));
  if (c.in(i).shape.rank() == rank) return Status::ok();
  return invalid_argument(c.node.op + ": input " + std::to_string(i) + " is " + input_desc(c.in(i)) +
                          " (rank " + std::to_string(c.in(i).shape.rank()) + "); expected rank " +
                          std::to_string(rank));
}

Status expect_min_rank(const InferContext& c, size_t i, size_t rank) {
  ANVIL_TRY(require_input(c, i));
  if (c.in(i).shape.rank() >= rank) return Status::ok();
  return invalid_argument(c.node.op + ": input " + std::to_string(i) + " is " + input_desc(c.in(i)) +
                          " (rank " + std::to_string(c.in(i).shape.rank()) + "); expected rank >= " +
                          std::to_string(rank));
}

Status constant_ints(const InferContext& c, size_t i, const char* what, std::vector<int64_t>& out) {
  if (!c.has_input(i)) {
    return invalid_model(c.node.op + ": the '" + what + "' input (input " + std::to_string(i) +
                         ") is required but missing");
  }
  const InputInfo& in = c.in(i);
  if (in.constant == nullptr) {
    return unsupported(c.node.op + ": the '" + what + "' input (input " + std::to_string(i) + ", " +
                       input_desc(in) +
                       ") is computed at run time; anvil needs it constant once input shapes are bound");
  }
  const DType t = in.constant->dtype();
  if (t != DType::kI64 && t != DType::kI32 && t != DType::kI8 && t != DType::kU8) {
    return invalid_model(c.node.op + ": the '" + what + "' input (input " + std::to_string(i) + ") is " +
                         in.constant->desc() + "; expected an integer tensor");
  }
  if (in.constant->rank() > 1) {
    return invalid_model(c.node.op + ": the '" + what + "' input (input " + std::to_string(i) + ") is " +
                         in.constant->desc() + "; expected a 1-D tensor");
  }
  out = in.constant->to_i64_vector();
  return Status::ok();
}

}  // namespace anvil::ops
