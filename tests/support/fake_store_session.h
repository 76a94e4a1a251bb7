// FakeStore: a scripted outcomes store for unit tests, behind the StoreSession seam. A test
// sets the rows each statement returns (by the statement's name, or by a fragment of its SQL),
// makes connecting or a statement fail, or makes a statement block until Cancel(), and reads
// back every statement the collector ran with its parameters. Deps() hands a collector a
// session factory whose sessions all play this script. Thread-safe: Cancel() and the test's
// calls may come from other threads than the collector's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "exporter/collectors/store.h"
#include "exporter/store/session.h"

namespace outcomes::testing_support {

struct RecordedStatement {
  std::string name;
  std::string sql;
  std::vector<std::string> params;
  int snapshot = 0;  // which snapshot ran it, numbered from 1 in the order they began
};

class FakeStore : public std::enable_shared_from_this<FakeStore> {
 public:
  static std::shared_ptr<FakeStore> Make() { return std::shared_ptr<FakeStore>(new FakeStore); }

  // Statement `name` returns `rows` (until set again).
  void SetRows(const std::string& name, std::vector<Row> rows);
  // Any statement without rows by name whose SQL contains `fragment` returns `rows`; the first
  // matching fragment, in the order set, wins.
  void SetRowsForSql(const std::string& fragment, std::vector<Row> rows);
  // Statement `name` fails with `message` (until set again or cleared); like a broken
  // connection, it also disconnects when `drop_connection`.
  void FailQuery(const std::string& name, std::string message, bool drop_connection = false);
  void ClearFailure(const std::string& name);
  // Every Connect() fails with `message` until AllowConnect(); the session in use is
  // disconnected at once, as when the server goes away.
  void FailConnect(std::string message);
  void AllowConnect();
  // The next run of statement `name` blocks until Cancel(), then fails as PostgreSQL does on
  // a cancel; later runs answer as scripted.
  void BlockQuery(const std::string& name);
  // Waits until a statement is blocked in BlockQuery(); false after `limit`.
  bool WaitUntilBlocked(std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Duration QueryDurations() reports for `name` once it ran. Default: 0.
  void SetDuration(const std::string& name, double seconds);

  std::vector<RecordedStatement> statements() const;
  // The statements of the given name, in order.
  std::vector<RecordedStatement> statements(const std::string& name) const;
  void ClearStatements();
  int connect_attempts() const;
  int snapshots() const;
  int cancels() const;

  // A session factory playing this script, for StoreCollectorDeps::make_session.
  std::function<std::unique_ptr<StoreSession>(const SessionOptions&)> SessionFactory();
  // Deps for a collector under test; `now` defaults to the real steady clock.
  StoreCollectorDeps Deps(Logger& log);
  // The options the last session was made with.
  SessionOptions last_options() const;

 private:
  class Session;
  class Reader;
  friend class Session;
  friend class Reader;

  FakeStore() = default;
  bool Connected() const;
  Status Connect();
  void Disconnect();
  Result<std::vector<Row>> Query(const std::string& name, const std::string& sql,
                                 const std::vector<std::string>& params, int snapshot);
  void Cancel();
  std::vector<std::pair<std::string, double>> QueryDurations() const;
  int BeginSnapshot();  // the new snapshot's number

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<Row>> rows_by_name_;
  std::vector<std::pair<std::string, std::vector<Row>>> rows_by_sql_;
  struct Failure {
    std::string message;
    bool drop_connection = false;
  };
  std::map<std::string, Failure> failures_;
  std::optional<std::string> connect_failure_;
  std::set<std::string> blocking_;
  std::map<std::string, double> durations_;
  std::map<std::string, double> ran_durations_;
  std::vector<RecordedStatement> statements_;
  SessionOptions last_options_;
  bool connected_ = false;
  bool blocked_ = false;
  bool cancel_requested_ = false;
  int connect_attempts_ = 0;
  int snapshots_ = 0;
  int cancels_ = 0;
};

}  // namespace outcomes::testing_support
