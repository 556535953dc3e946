// `anvil serve`: the KServe v2 inference server (server/).
#pragma once
#include <string>
#include <vector>

#include "cli_common.h"

namespace anvil::cli {

struct ServeArgs {
  std::vector<std::string> models;  // NAME=PATH
  std::vector<std::string> shapes;  // NAME:INPUT:1,3,224,224 (INPUT:... with one model)
  std::string host = "127.0.0.1";
  int port = 8000;
  int threads = 0;
  int instances = 1;
  int max_batch = 1;
  int64_t max_queue_delay_us = 1000;
  size_t max_queue = 1024;
  int http_threads = 0;
  double max_body_mb = 256;
  int epoch = 0;
  int opt_level = 3;
  std::string denormals = "flush";
};
CLI::App* add_serve_command(CLI::App& app, ServeArgs& a);
int cmd_serve(const ServeArgs& a);

}  // namespace anvil::cli
