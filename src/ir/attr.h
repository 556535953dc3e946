// Typed node attributes.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "anvil/status.h"
#include "anvil/tensor.h"

namespace anvil {

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>,
                               std::vector<float>, std::vector<std::string>, Tensor>;

const char* attr_type_name(const AttrValue& v);  // "int", "float", "string", "ints", ...
std::string attr_to_string(const AttrValue& v);    // short printable form

class Attrs {
 public:
  bool has(const std::string& name) const { return m_.count(name) != 0; }
  void set(const std::string& name, AttrValue v) { m_[name] = std::move(v); }
  void erase(const std::string& name) { m_.erase(name); }
  const std::map<std::string, AttrValue>& all() const { return m_; }
  const AttrValue* find(const std::string& name) const {
    auto it = m_.find(name);
    return it == m_.end() ? nullptr : &it->second;
  }

  // Reads `name` into `out` if present (out keeps its default otherwise).
  // A present attribute of the wrong type is an error naming both types.
  // An int attribute is accepted where a float is expected, and vice versa
  // where the float is integral (MXNet writes every attribute as a string).
  Status get(const std::string& name, int64_t& out) const;
  Status get(const std::string& name, float& out) const;
  Status get(const std::string& name, std::string& out) const;
  Status get(const std::string& name, std::vector<int64_t>& out) const;
  Status get(const std::string& name, std::vector<float>& out) const;
  Status get(const std::string& name, std::vector<std::string>& out) const;
  Status get(const std::string& name, Tensor& out) const;
  // Like get(), but absence is an error.
  template <class T>
  Status require(const std::string& name, T& out) const {
    if (!has(name)) return invalid_model("missing required attribute '" + name + "'");
    return get(name, out);
  }

  // Convenience getters with defaults, for attributes already validated.
  int64_t i(const std::string& name, int64_t def) const;
  float f(const std::string& name, float def) const;
  std::string s(const std::string& name, const std::string& def) const;
  std::vector<int64_t> ints(const std::string& name, std::vector<int64_t> def = {}) const;

 private:
  std::map<std::string, AttrValue> m_;
};

}  // namespace anvil
