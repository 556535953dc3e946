#include "ir/attr.h"

#include <cmath>
#include <sstream>

namespace anvil {

const char* attr_type_name(const AttrValue& v) {
  switch (v.index()) {
    case 0: return "int";
    case 1: return "float";
    case 2: return "string";
    case 3: return "ints";
    case 4: return "floats";
    case 5: return "strings";
    case 6: return "tensor";
  }
  return "?";
}

std::string attr_to_string(const AttrValue& v) {
  std::ostringstream os;
  auto list = [&](const auto& xs, auto fmt) {
    os << '[';
    const size_t n = xs.size();
    for (size_t i = 0; i < n && i < 16; ++i) {
      if (i) os << ',';
      fmt(xs[i]);
    }
    if (n > 16) os << ",...(" << n << ")";
    os << ']';
  };
  switch (v.index()) {
    case 0: os << std::get<int64_t>(v); break;
    case 1: os << std::get<float>(v); break;
    case 2: os << '"' << std::get<std::string>(v) << '"'; break;
    case 3: list(std::get<3>(v), [&](int64_t x) { os << x; }); break;
    case 4: list(std::get<4>(v), [&](float x) { os << x; }); break;
    case 5: list(std::get<5>(v), [&](const std::string& x) { os << '"' << x << '"'; }); break;
    case 6: os << std::get<Tensor>(v).desc(); break;
  }
  return os.str();
}

namespace {
Status type_error(const std::string& name, const char* want, const AttrValue& got) {
  return invalid_model("attribute '" + name + "' must be " + want + ", got " + attr_type_name(got) +
                       " " + attr_to_string(got));
}
}  // namespace

Status Attrs::get(const std::string& name, int64_t& out) const {
  const AttrValue* v = find(name);
  if (!v) return Status::ok();
  if (auto* p = std::get_if<int64_t>(v)) {
    out = *p;
    return Status::ok();
  }
  if (auto* p = std::get_if<float>(v); p && std::floor(*p) == *p) {
    out = static_cast<int64_t>(*p);
    return Status::ok();
  }
  return type_error(name, "an int", *v);
}

Status Attrs::get(const std::string& name, float& out) const {
  const AttrValue* v = find(name);
  if (!v) return Status::ok();
  if (auto* p = std::get_if<float>(v)) {
    out = *p;
    return Status::ok();
  }
  if (auto* p = std::get_if<int64_t>(v)) {
    out = static_cast<float>(*p);
    return Status::ok();
  }
  return type_error(name, "a float", *v);
}

Status Attrs::get(const std::string& name, std::string& out) const {
  const AttrValue* v = find(name);
  if (!v) return Status::ok();
  if (auto* p = std::get_if<std::string>(v)) {
    out = *p;
    return Status::ok();
  }
  return type_error(name, "a string", *v);
}

Status Attrs::get(const std::string& name, std::vector<int64_t>& out) const {
  const AttrValue* v = find(name);
  if (!v) return Status::ok();
  if (auto* p = std::get_if<std::vector<int64_t>>(v)) {
    out = *p;
    return Status::ok();
  }
  return type_error(name, "a list of ints", *v);
}

Status Attrs::get(const std::string& name, std::vector<float>& out) const {
  const AttrValue* v = find(name);
  if (!v) return Status::ok();
  if (auto* p = std::get_if<std::vector<float>>(v)) {
    out = *p;
    return Status::ok();
  }
  if (auto* p = std::get_if<std::vector<int64_t>>(v)) {
    out.assign(p->begin(), p->end());
    return Status::ok();
  }
  return type_error(name, "a list of floats", *v);
}

Status Attrs::get(const std::string& name, std::vector<std::string>& out) const {
  const AttrValue* v = find(name);
  if (!v) return Status::ok();
  if (auto* p = std::get_if<std::vector<std::string>>(v)) {
    out = *p;
    return Status::ok();
  }
  return type_error(name, "a list of strings", *v);
}

Status Attrs::get(const std::string& name, Tensor& out) const {
  const AttrValue* v = find(name);
  if (!v) return Status::ok();
  if (auto* p = std::get_if<Tensor>(v)) {
    out = *p;
    return Status::ok();
  }
  return type_error(name, "a tensor", *v);
}

int64_t Attrs::i(const std::string& name, int64_t def) const {
  (void)get(name, def);
  return def;
}
float Attrs::f(const std::string& name, float def) const {
  (void)get(name, def);
  return def;
}
std::string Attrs::s(const std::string& name, const std::string& def) const {
  std::string r = def;
  (void)get(name, r);
  return r;
}
std::vector<int64_t> Attrs::ints(const std::string& name, std::vector<int64_t> def) const {
  (void)get(name, def);
  return def;
}

}  // namespace anvil
