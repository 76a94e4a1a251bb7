// The libpq adapter: libpqxx exceptions stay in this file and leave it as Status values whose
// text never holds the DSN's password.
#include <chrono>
#include <map>
#include <mutex>
#include <pqxx/pqxx>

#include "exporter/core/dsn.h"
#include "exporter/store/session.h"

namespace outcomes {
namespace {

using ReadSnapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

std::string OneLine(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return text;
}

class PgSnapshotReader : public SnapshotReader {
 public:
  PgSnapshotReader(ReadSnapshot& txn, std::map<std::string, double>& durations,
                   const std::string& dsn)
      : txn_(txn), durations_(durations), dsn_(dsn) {}

  Result<std::vector<Row>> Query(const std::string& name, const std::string& sql,
                                 const std::vector<std::string>& params) override {
    const auto started = std::chrono::steady_clock::now();
    try {
      const pqxx::result result =
          params.empty() ? txn_.exec(sql)
                         : txn_.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
      durations_[name] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::vector<Row> rows;
      rows.reserve(result.size());
      for (const auto& record : result) {
        Row row;
        row.reserve(record.size());
        for (const auto& field : record) {
          if (field.is_null()) {
            row.emplace_back(std::nullopt);
          } else {
            row.emplace_back(std::string(field.c_str(), field.size()));
          }
        }
        rows.push_back(std::move(row));
      }
      return rows;
    } catch (const std::exception& e) {
      durations_[name] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      return Status::Error("query " + name + ": " + OneLine(ScrubSecret(e.what(), dsn_)));
    }
  }

 private:
  ReadSnapshot& txn_;
  std::map<std::string, double>& durations_;
  const std::string& dsn_;
};

// libpqxx 6 tries to revive a broken connection on its next use: it closes it (PQfinish) from
// whichever call noticed, outside cancel_mutex_, where Cancel() on the watchdog thread may be
// reading it, and a revived connection would lack the settings made in Connect(). Only
// Connect() and Disconnect() replace the connection here.
void InhibitReactivation(pqxx::connection& connection) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  connection.inhibit_reactivation(true);
#pragma GCC diagnostic pop
}

class PgSession : public StoreSession {
 public:
  explicit PgSession(SessionOptions options) : options_(std::move(options)) {}

  bool connected() const override { return connection_ != nullptr && connection_->is_open(); }

  Status Connect() override {
    Disconnect();
    const auto connect_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(options_.connect_timeout).count();
    const std::string dsn = WithConnParams(
        options_.dsn,
        {{"application_name", options_.application_name},
         {"connect_timeout", std::to_string(std::max<std::int64_t>(1, connect_seconds))},
         // Keepalives notice a store that vanished without closing the socket.
         {"keepalives_idle", "30"},
         {"keepalives_interval", "10"},
         {"keepalives_count", "3"}});
    try {
      auto connection = std::make_unique<pqxx::connection>(dsn);
      InhibitReactivation(*connection);
      const auto statement_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(options_.statement_timeout).count();
      pqxx::nontransaction setup(*connection);
      setup.exec("SET statement_timeout = " + std::to_string(statement_ms));
      setup.exec("SET default_transaction_read_only = on");
      // The planner prices each range of an id-range join (late ids, a sweep batch) at a share
      // of the table, so on a long history a statement that reads a few index pages passes
      // jit_above_cost and compiling it costs some 20 times its run: a cost that would grow
      // with the history. The sidecar's statements are index reads or one-off aggregates.
      setup.exec("SET jit = off");
      // Parallel workers are a pool the store shares with its applications, and the sidecar's
      // start-up already runs its first counts over several connections at once: on a busy
      // store, workers on top of those only add CPU (16 s against 11.5-13.5 s to the first
      // complete collection of a 10M-event store on 2 cores).
      setup.exec("SET max_parallel_workers_per_gather = 0");
      setup.commit();
      const std::lock_guard<std::mutex> lock(cancel_mutex_);
      connection_ = std::move(connection);
      return Status::Ok();
    } catch (const std::exception& e) {
      return Status::Error("outcomes store: cannot connect to " + RedactDsn(options_.dsn) + ": " +
                           OneLine(ScrubSecret(e.what(), options_.dsn)));
    }
  }

  void Disconnect() override {
    const std::lock_guard<std::mutex> lock(cancel_mutex_);
    connection_.reset();
  }

  Status InSnapshot(const std::function<Status(SnapshotReader&)>& body) override {
    if (!connected()) return Status::Error("outcomes store: not connected");
    bool began = false;
    Status status = RunSnapshot(body, began);
    if (status.ok() || connection_->is_open()) return status;
    // Only now that the transaction is gone may the broken connection be dropped: a
    // transaction outliving its connection would roll back through freed memory.
    Disconnect();
    if (began) return status;
    // The store closed the connection while it was idle (a restart, idle_session_timeout, a
    // proxy): nothing was read yet, so this cycle gets one fresh connection.
    if (!Connect().ok()) return status;
    status = RunSnapshot(body, began);
    if (!status.ok() && !connection_->is_open()) Disconnect();
    return status;
  }

  void Cancel() override {
    const std::lock_guard<std::mutex> lock(cancel_mutex_);
    if (connection_ == nullptr) return;
    try {
      connection_->cancel_query();
    } catch (const std::exception&) {
      // Nothing in flight or the connection is gone: either way there is nothing to cancel.
    }
  }

  std::vector<std::pair<std::string, double>> QueryDurations() const override {
    return {durations_.begin(), durations_.end()};
  }

 private:
  // The transaction lives and dies inside this function, so the connection is never dropped
  // under it. `began` tells whether the store accepted the transaction.
  Status RunSnapshot(const std::function<Status(SnapshotReader&)>& body, bool& began) {
    began = false;
    try {
      ReadSnapshot txn(*connection_, "outcomes_exporter");
      began = true;
      PgSnapshotReader reader(txn, durations_, options_.dsn);
      Status status = body(reader);
      if (!status.ok()) return Status::Error("outcomes store: " + status.message());
      txn.commit();
      return status;
    } catch (const std::exception& e) {
      return Status::Error("outcomes store: " + OneLine(ScrubSecret(e.what(), options_.dsn)));
    }
  }

  SessionOptions options_;
  std::mutex cancel_mutex_;  // guards connection_ against Cancel() from the watchdog thread
  std::unique_ptr<pqxx::connection> connection_;
  std::map<std::string, double> durations_;
};

}  // namespace

std::unique_ptr<StoreSession> MakePgSession(SessionOptions options) {
  return std::make_unique<PgSession>(std::move(options));
}

}  // namespace outcomes
