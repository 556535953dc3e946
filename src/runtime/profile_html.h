// `anvil profile --html`: one self-contained HTML file (no network: inline
// CSS, SVG drawn by inline JS from an embedded JSON copy of the profile)
// with a per-layer bar chart, a roofline plot against the measured peak and
// memory bandwidth, the optimizer's report and the tables.
#pragma once
#include <string>

#include "runtime/profile_compare.h"
#include "runtime/profiler.h"

namespace anvil {

struct HtmlReportOptions {
  std::string optimization_report;  // Session::optimization_report()
  // Measured streaming bandwidth (GB/s) for the roofline's slope; 0 draws
  // only the compute roof.
  double bandwidth_gbs = 0;
  // With `anvil profile --compare`: B is the profile shown, and the A/B
  // groups get a chart and tables of their own.
  const ProfileComparison* comparison = nullptr;
};

// When the page has drawn everything, its <html> element carries
// data-rendered="1", data-bars (per-layer bars drawn) and data-points
// (roofline points); a script error sets data-js-errors. Tests read these
// from headless Chromium's --dump-dom.
std::string profile_to_html(const Profile& p, const HtmlReportOptions& options = {});

}  // namespace anvil
