// StoreSession: the seam between collectors and the outcomes store. Results come back as text
// (NULL as nullopt), errors as values. PgSession is the libpq implementation; tests may swap in
// their own. Not thread-safe, except Cancel(), which may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exporter/core/duration.h"
#include "exporter/core/status.h"

namespace outcomes {

using Row = std::vector<std::optional<std::string>>;

// Runs statements inside one read-only snapshot.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  // `name` identifies the statement in errors and in the query-duration metric.
  virtual Result<std::vector<Row>> Query(const std::string& name, const std::string& sql,
                                         const std::vector<std::string>& params) = 0;
};

struct SessionOptions {
  std::string dsn;
  std::string application_name = "outcomes_exporter";
  Duration connect_timeout = std::chrono::seconds(5);
  Duration statement_timeout = std::chrono::minutes(1);
};

class StoreSession {
 public:
  virtual ~StoreSession() = default;
  virtual bool connected() const = 0;
  virtual Status Connect() = 0;
  virtual void Disconnect() = 0;
  // Runs `body` in one REPEATABLE READ, READ ONLY transaction, so that every statement sees
  // the same snapshot. A failing statement fails the whole body.
  virtual Status InSnapshot(const std::function<Status(SnapshotReader&)>& body) = 0;
  // Cancels the statement in flight, if any.
  virtual void Cancel() = 0;
  // Seconds each named statement took the last time it ran.
  virtual std::vector<std::pair<std::string, double>> QueryDurations() const = 0;
};

std::unique_ptr<StoreSession> MakePgSession(SessionOptions options);

}  // namespace outcomes
