// Errors are values: every fallible call returns Status or Result<T>.
#pragma once
#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace anvil {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the caller passed something wrong (bad shape, bad flag)
  kInvalidModel,      // the model file is malformed or inconsistent
  kUnsupported,       // valid input that anvil does not implement (op, opset, dtype)
  kNotFound,          // a file, input or name does not exist
  kIoError,           // reading or writing failed
  kOutOfRange,        // a resource limit was exceeded
  kInternal,          // a bug in anvil
};

const char* status_code_name(StatusCode c);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code>: <message>"
  std::string to_string() const;

  // Prefixes context, outermost first: "model.onnx: node 'conv1' (Conv): <message>".
  Status with_context(const std::string& ctx) const& {
    if (is_ok()) return *this;
    return Status(code_, ctx + ": " + message_);
  }
  Status&& with_context(const std::string& ctx) && {
    if (!is_ok()) message_ = ctx + ": " + message_;
    return std::move(*this);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status invalid_model(std::string m) { return {StatusCode::kInvalidModel, std::move(m)}; }
inline Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status out_of_range(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(implicit)
  Result(Status s) : v_(std::move(s)) {      // NOLINT(implicit)
    assert(!std::get<Status>(v_).is_ok() && "Result built from an ok Status");
  }
  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace anvil

#define ANVIL_CONCAT_INNER(a, b) a##b
#define ANVIL_CONCAT(a, b) ANVIL_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` fails.
#define ANVIL_TRY(expr)                                   \
  do {                                                    \
    ::anvil::Status anvil_try_status_ = (expr);           \
    if (!anvil_try_status_.is_ok()) return anvil_try_status_; \
  } while (0)

// `ANVIL_ASSIGN_OR_RETURN(auto x, f())`: unwraps a Result or returns its Status.
#define ANVIL_ASSIGN_OR_RETURN(lhs, rexpr) \
  ANVIL_ASSIGN_OR_RETURN_IMPL(ANVIL_CONCAT(anvil_result_, __LINE__), lhs, rexpr)
#define ANVIL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
