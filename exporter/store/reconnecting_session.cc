#include "exporter/store/reconnecting_session.h"

namespace outcomes {

ReconnectingSession::ReconnectingSession(std::unique_ptr<StoreSession> session, Duration interval,
                                         Duration max_backoff, std::string collector, Logger& log,
                                         SteadyClock now)
    : session_(std::move(session)),
      interval_(interval),
      max_backoff_(max_backoff),
      collector_(std::move(collector)),
      log_(log),
      now_(std::move(now)) {}

Status ReconnectingSession::Ensure() {
  if (session_->connected()) return Status::Ok();
  const auto now = now_();
  if (failures_ > 0 && now < next_attempt_) return Status::Error(last_error_);
  Status status = session_->Connect();
  if (!status.ok()) {
    last_error_ = status.message();
    if (failures_ == 0) outage_started_ = now;
    ++failures_;
    Duration backoff = interval_;
    for (int i = 1; i < failures_ && backoff < max_backoff_; ++i) backoff *= 2;
    next_attempt_ = now + std::min(backoff, max_backoff_);
    return status;
  }
  if (failures_ > 0) {
    log_.Info(
        "outcomes store connection restored",
        {{"collector", collector_},
         {"failed_attempts", std::to_string(failures_)},
         {"outage", FormatDuration(std::chrono::duration_cast<Duration>(now - outage_started_))}});
  }
  failures_ = 0;
  return Status::Ok();
}

}  // namespace outcomes
