// `anvil profile` (per-node timing, FLOP/s against the measured peak,
// Chrome traces) and `anvil sysinfo` (what this machine can do).
#pragma once
#include <string>
#include <vector>

#include "cli_common.h"

namespace anvil::cli {

struct ProfileArgs {
  ModelArgs model;
  int iters = 20;
  int warmup = 3;
  int threads = 0;
  int top = 0;
  uint64_t seed = 0;
  bool csv = false, json = false, no_peak = false;
  std::string trace;
  std::string html;
  // Two configurations, e.g. "-O0" "-O3 --denormals keep": layer-by-layer A/B.
  std::vector<std::string> compare;
};
CLI::App* add_profile_command(CLI::App& app, ProfileArgs& a);
int cmd_profile(const ProfileArgs& a);

struct SysinfoArgs {
  bool no_measure = false;
  bool json = false;
  int bandwidth_mib = 256;
};
CLI::App* add_sysinfo_command(CLI::App& app, SysinfoArgs& a);
int cmd_sysinfo(const SysinfoArgs& a);

// `anvil doctor` (tools/doctor.cc).
struct DoctorArgs {
  ModelArgs model;
  int threads = 0;
  int iters = 5;
  uint64_t seed = 0;
  bool quick = false, no_measure = false, json = false;
};
CLI::App* add_doctor_command(CLI::App& app, DoctorArgs& a);
int cmd_doctor(const DoctorArgs& a);

}  // namespace anvil::cli
