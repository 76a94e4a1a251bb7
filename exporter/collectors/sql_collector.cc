#include "exporter/collectors/sql_collector.h"

#include <cstdlib>

namespace outcomes {

SqlCollector::SqlCollector(std::string name, StoreConfig store, Duration interval, Duration timeout,
                           StoreCollectorDeps deps)
    : BlockingCollector({std::move(name), interval, timeout}),
      store_(std::move(store)),
      deps_(std::move(deps)) {
  SessionOptions options;
  options.dsn = store_.dsn;
  options.application_name = store_.application_name;
  options.connect_timeout = store_.connect_timeout;
  options.statement_timeout = std::min(store_.statement_timeout, timeout);
  session_options_ = options;
  connection_ =
      std::make_unique<ReconnectingSession>(deps_.make_session(options), interval,
                                            store_.max_backoff, this->name(), deps_.log, deps_.now);
}

bool SqlCollector::SameSettings(const Collector& other) const {
  const auto* same_kind = dynamic_cast<const SqlCollector*>(&other);
  return same_kind != nullptr && same_kind->store_ == store_ && Collector::SameSettings(other);
}

CollectOutput SqlCollector::Collect() {
  CollectOutput output;
  output.status = connection_->Ensure();
  if (output.status.ok() && !plans_checked_) {
    plans_checked_ = true;
    CheckPlansOnce(deps_.make_session, session_options_, PlannedStatements(), log(), name(),
                   WatchedTables());
  }
  if (output.status.ok()) {
    output.status =
        connection_->session().InSnapshot([this](SnapshotReader& reader) { return Read(reader); });
  }
  output.families = Families();
  return output;
}

Result<double> ParseNumber(const std::optional<std::string>& text, const std::string& what) {
  if (!text) return 0.0;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0') {
    return Status::Error(what + ": expected a number, got \"" + *text + "\"");
  }
  return value;
}

}  // namespace outcomes
