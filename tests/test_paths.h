// Where tests find data kept outside the repository.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

namespace anvil::testing {

// ../shared/models beside the repository (ANVIL_SHARED_DIR overrides).
inline std::string shared_models_dir() {
  if (const char* e = std::getenv("ANVIL_SHARED_DIR")) return std::string(e) + "/models";
  return std::string(ANVIL_SOURCE_DIR) + "/../shared/models";
}

inline bool have_shared_models() { return std::filesystem::exists(shared_models_dir() + "/README.md"); }

#define ANVIL_REQUIRE_SHARED_MODELS()                                                                    \
  if (!::anvil::testing::have_shared_models())                                                           \
  GTEST_SKIP() << "../shared/models is absent (" << ::anvil::testing::shared_models_dir()                 \
               << "): real-model tests need the shared model folder beside the repository"

}  // namespace anvil::testing
