#include "tests/support/fake_store_session.h"

namespace outcomes::testing_support {

// One session of the script; the collector owns it, the FakeStore holds the state.
class FakeStore::Session : public StoreSession {
 public:
  explicit Session(std::shared_ptr<FakeStore> store) : store_(std::move(store)) {}
  bool connected() const override { return store_->Connected(); }
  Status Connect() override { return store_->Connect(); }
  void Disconnect() override { store_->Disconnect(); }
  Status InSnapshot(const std::function<Status(SnapshotReader&)>& body) override;
  void Cancel() override { store_->Cancel(); }
  // Like PgSession: only the statements this session ran.
  std::vector<std::pair<std::string, double>> QueryDurations() const override {
    std::vector<std::pair<std::string, double>> durations = store_->QueryDurations();
    std::erase_if(durations, [this](const auto& entry) { return !ran_.contains(entry.first); });
    return durations;
  }

 private:
  std::shared_ptr<FakeStore> store_;
  std::set<std::string> ran_;
};

class FakeStore::Reader : public SnapshotReader {
 public:
  Reader(FakeStore& store, std::set<std::string>& ran, int snapshot)
      : store_(store), ran_(ran), snapshot_(snapshot) {}
  Result<std::vector<Row>> Query(const std::string& name, const std::string& sql,
                                 const std::vector<std::string>& params) override {
    ran_.insert(name);
    return store_.Query(name, sql, params, snapshot_);
  }

 private:
  FakeStore& store_;
  std::set<std::string>& ran_;
  int snapshot_;
};

// The same wording as PgSession, so that tests check what the user would see.
Status FakeStore::Session::InSnapshot(const std::function<Status(SnapshotReader&)>& body) {
  if (!store_->Connected()) return Status::Error("outcomes store: not connected");
  Reader reader(*store_, ran_, store_->BeginSnapshot());
  Status status = body(reader);
  if (!status.ok()) return Status::Error("outcomes store: " + status.message());
  return status;
}

void FakeStore::SetRows(const std::string& name, std::vector<Row> rows) {
  const std::lock_guard<std::mutex> lock(mutex_);
  rows_by_name_[name] = std::move(rows);
}

void FakeStore::SetRowsForSql(const std::string& fragment, std::vector<Row> rows) {
  const std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [known, known_rows] : rows_by_sql_) {
    if (known == fragment) {
      known_rows = std::move(rows);
      return;
    }
  }
  rows_by_sql_.emplace_back(fragment, std::move(rows));
}

void FakeStore::FailQuery(const std::string& name, std::string message, bool drop_connection) {
  const std::lock_guard<std::mutex> lock(mutex_);
  failures_[name] = Failure{std::move(message), drop_connection};
}

void FakeStore::ClearFailure(const std::string& name) {
  const std::lock_guard<std::mutex> lock(mutex_);
  failures_.erase(name);
}

void FakeStore::FailConnect(std::string message) {
  const std::lock_guard<std::mutex> lock(mutex_);
  connect_failure_ = std::move(message);
  connected_ = false;
}

void FakeStore::AllowConnect() {
  const std::lock_guard<std::mutex> lock(mutex_);
  connect_failure_.reset();
}

void FakeStore::BlockQuery(const std::string& name) {
  const std::lock_guard<std::mutex> lock(mutex_);
  blocking_.insert(name);
}

bool FakeStore::WaitUntilBlocked(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, limit, [this] { return blocked_; });
}

void FakeStore::SetDuration(const std::string& name, double seconds) {
  const std::lock_guard<std::mutex> lock(mutex_);
  durations_[name] = seconds;
}

std::vector<RecordedStatement> FakeStore::statements() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return statements_;
}

std::vector<RecordedStatement> FakeStore::statements(const std::string& name) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<RecordedStatement> out;
  for (const RecordedStatement& statement : statements_) {
    if (statement.name == name) out.push_back(statement);
  }
  return out;
}

void FakeStore::ClearStatements() {
  const std::lock_guard<std::mutex> lock(mutex_);
  statements_.clear();
}

int FakeStore::connect_attempts() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return connect_attempts_;
}

int FakeStore::snapshots() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return snapshots_;
}

int FakeStore::cancels() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return cancels_;
}

std::function<std::unique_ptr<StoreSession>(const SessionOptions&)> FakeStore::SessionFactory() {
  std::shared_ptr<FakeStore> self = shared_from_this();
  return [self](const SessionOptions& options) -> std::unique_ptr<StoreSession> {
    {
      const std::lock_guard<std::mutex> lock(self->mutex_);
      self->last_options_ = options;
    }
    return std::make_unique<Session>(self);
  };
}

StoreCollectorDeps FakeStore::Deps(Logger& log) {
  return StoreCollectorDeps{log, SessionFactory()};
}

SessionOptions FakeStore::last_options() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return last_options_;
}

bool FakeStore::Connected() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return connected_;
}

Status FakeStore::Connect() {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++connect_attempts_;
  if (connect_failure_) {
    connected_ = false;
    return Status::Error("outcomes store: cannot connect to fake: " + *connect_failure_);
  }
  connected_ = true;
  return Status::Ok();
}

void FakeStore::Disconnect() {
  const std::lock_guard<std::mutex> lock(mutex_);
  connected_ = false;
}

int FakeStore::BeginSnapshot() {
  const std::lock_guard<std::mutex> lock(mutex_);
  return ++snapshots_;
}

Result<std::vector<Row>> FakeStore::Query(const std::string& name, const std::string& sql,
                                          const std::vector<std::string>& params, int snapshot) {
  std::unique_lock<std::mutex> lock(mutex_);
  statements_.push_back({name, sql, params, snapshot});
  if (!connected_) return Status::Error("query " + name + ": no connection to the server");
  ran_durations_[name] = durations_.contains(name) ? durations_[name] : 0.0;
  if (blocking_.erase(name) > 0) {
    cancel_requested_ = false;
    blocked_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return cancel_requested_; });
    blocked_ = false;
    cancel_requested_ = false;
    return Status::Error("query " + name + ": ERROR:  canceling statement due to user request");
  }
  if (const auto failure = failures_.find(name); failure != failures_.end()) {
    if (failure->second.drop_connection) connected_ = false;
    return Status::Error("query " + name + ": " + failure->second.message);
  }
  if (const auto rows = rows_by_name_.find(name); rows != rows_by_name_.end()) return rows->second;
  for (const auto& [fragment, rows] : rows_by_sql_) {
    if (sql.find(fragment) != std::string::npos) return rows;
  }
  // Unscripted statements fail loudly, so a test never passes on rows it did not choose.
  return Status::Error("query " + name + ": the fake store has no rows for this statement");
}

void FakeStore::Cancel() {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++cancels_;
  // Like pg_cancel_backend: only a statement in flight is cancelled.
  if (blocked_) {
    cancel_requested_ = true;
    changed_.notify_all();
  }
}

std::vector<std::pair<std::string, double>> FakeStore::QueryDurations() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return {ran_durations_.begin(), ran_durations_.end()};
}

}  // namespace outcomes::testing_support
