// A non-owning reference to a callable, for parameters that are called
// during the call only (ThreadPool::parallel_for's body). std::function
// copies a lambda that captures more than two pointers to the heap, and
// those bodies are built per layer per run: ~250 allocations a run of
// ResNet-50, on the path the executor promises keeps off the heap.
// The referenced callable must outlive every call through the reference;
// a lambda passed straight to a function taking a FunctionRef does.
#pragma once
#include <memory>
#include <type_traits>
#include <utility>

namespace anvil {

template <class Sig>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef> &&
                                              std::is_invocable_r_v<R, F&, Args...>>>
  FunctionRef(F&& f) noexcept  // NOLINT: implicit, like std::function's
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, Args... a) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(a)...);
        }) {}

  R operator()(Args... a) const { return call_(obj_, std::forward<Args>(a)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

}  // namespace anvil
