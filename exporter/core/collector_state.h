// CollectorState: what the landing page and the self metrics show about one collector, as the
// scheduler last recorded it. A plain value, here at the bottom so that metrics/ and http/ can
// read it without depending on the scheduler.
#pragma once

#include <chrono>
#include <string>

#include "exporter/core/duration.h"

namespace outcomes {

struct CollectorState {
  std::string name;
  Duration interval{};
  bool has_run = false;
  bool running = false;
  bool success = false;
  double last_duration_seconds = 0;
  std::chrono::system_clock::time_point last_run{};
  std::chrono::system_clock::time_point last_success{};
  std::string last_error;
};

}  // namespace outcomes
