#pragma once
#include <CLI/CLI.hpp>

#include "cli_common.h"

namespace anvil::cli {

struct CompileArgs {
  ModelArgs model;
  std::string output, max_isa;
  int threads = 0;
  bool no_verify = false;
};
CLI::App* add_compile_command(CLI::App& app, CompileArgs& a);
int cmd_compile(const CompileArgs& a);

}  // namespace anvil::cli
