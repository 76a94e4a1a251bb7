// ReconnectingSession: one StoreSession kept connected with exponential backoff (one interval,
// doubling up to max_backoff) and one log line when a lost connection is restored. While
// waiting out the backoff it returns the last connection error unchanged, so an outage logs
// once. Not thread-safe (owned by one collector), except Cancel().
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "exporter/core/clock.h"
#include "exporter/core/log.h"
#include "exporter/store/session.h"

namespace outcomes {

class ReconnectingSession {
 public:
  ReconnectingSession(std::unique_ptr<StoreSession> session, Duration interval,
                      Duration max_backoff, std::string collector, Logger& log, SteadyClock now);

  // Connects when needed and allowed by the backoff.
  Status Ensure();
  StoreSession& session() { return *session_; }
  void Cancel() { session_->Cancel(); }

 private:
  std::unique_ptr<StoreSession> session_;
  const Duration interval_;
  const Duration max_backoff_;
  const std::string collector_;
  Logger& log_;
  SteadyClock now_;
  int failures_ = 0;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::steady_clock::time_point outage_started_{};
  std::string last_error_;
};

}  // namespace outcomes
