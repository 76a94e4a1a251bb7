// The store collector against what production does to a sidecar's store: backends killed
// inside a cycle's snapshot, PostgreSQL restarted under writers, an older backup restored,
// an id sequence set far ahead. The process survives and the counters stay exact.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "exporter/collectors/store.h"
#include "store_test_support.h"

namespace outcomes {
namespace {

using namespace std::chrono_literals;
using namespace testing_support;

// Writers that insert small batches until stopped, reconnecting whenever the store drops them.
class Writers {
 public:
  explicit Writers(int count) {
    for (int i = 0; i < count; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~Writers() { Stop(); }
  Writers(const Writers&) = delete;
  Writers& operator=(const Writers&) = delete;

  void Stop() {
    stop_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  int commits() const { return commits_; }

 private:
  void Run() {
    while (!stop_) {
      try {
        pqxx::connection connection(sandbox->dsn());
        while (!stop_) {
          pqxx::work txn(connection);
          InsertBatch(txn, 5);
          txn.commit();
          ++commits_;
        }
      } catch (const std::exception&) {
        std::this_thread::sleep_for(20ms);  // killed or the store is down: reconnect
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> commits_{0};
  std::vector<std::thread> threads_;
};

// Collect() in a loop on its own thread, as the scheduler's worker runs it.
class CycleLoop {
 public:
  explicit CycleLoop(StoreCollector& collector)
      : thread_([this, &collector] {
          while (!stop_) {
            (collector.Collect().status.ok() ? successes_ : failures_)++;
            std::this_thread::sleep_for(5ms);
          }
        }) {}
  ~CycleLoop() { Stop(); }
  CycleLoop(const CycleLoop&) = delete;
  CycleLoop& operator=(const CycleLoop&) = delete;

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int successes() const { return successes_; }
  int failures() const { return failures_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> successes_{0};
  std::atomic<int> failures_{0};
  std::thread thread_;
};

bool WaitFor(const std::function<bool()>& condition, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

std::int64_t Scalar(const std::string& sql) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::nontransaction txn(connection);
  return txn.exec(sql)[0][0].as<std::int64_t>();
}

void Exec(const std::string& sql) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::nontransaction txn(connection);
  txn.exec(sql);
}

void InsertCommitted(int count) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  InsertBatch(txn, count);
  txn.commit();
}

constexpr const char* kCollectorBackends =
    "FROM pg_stat_activity WHERE application_name = 'outcomes_store_faults'";

class StoreFaultsTest : public testing::Test {
 protected:
  void SetUp() override { sandbox->Reset(); }

  std::unique_ptr<StoreCollector> MakeCollector(
      std::function<SteadyTime()> now,
      const std::function<void(StoreConfig&)>& adjust = [](StoreConfig&) {}) {
    StoreConfig config;
    config.dsn = sandbox->dsn();
    config.application_name = "outcomes_store_faults";
    config.interval = 20ms;
    config.max_backoff = 50ms;
    config.statement_timeout = 30s;  // the kills, not the timeout, end the waits
    adjust(config);
    return std::make_unique<StoreCollector>(
        config, StoreCollectorDeps{
                    log_, [](const SessionOptions& options) { return MakePgSession(options); },
                    std::move(now)});
  }
  std::unique_ptr<StoreCollector> MakeCollector() {
    return MakeCollector([this] { return clock_.Now(); });
  }

  // A cycle that succeeds, once the reconnect backoff allows it.
  CollectOutput CollectUntilOk(StoreCollector& collector) {
    CollectOutput output = collector.Collect();
    for (int attempt = 0; attempt < 100 && !output.status.ok(); ++attempt) {
      std::this_thread::sleep_for(50ms);
      output = collector.Collect();
    }
    return output;
  }

  static double Value(const CollectOutput& output, const std::string& name,
                      const std::string& key = "") {
    const Samples samples = SamplesOf(output.families, name);
    const auto it = samples.find(key);
    return it == samples.end() ? -1 : it->second;
  }

  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
  FakeClock clock_;
};

// Regression: the session dropped a broken connection while the snapshot's transaction was
// still alive, whose destructor then rolled back through the freed connection (SIGSEGV).
TEST_F(StoreFaultsTest, BackendsKilledMidSnapshotAndRestartsLeaveCountsExact) {
  InsertCommitted(500);
  auto collector = MakeCollector([] { return std::chrono::steady_clock::now(); });
  ASSERT_TRUE(collector->Collect().status.ok());
  Writers writers(3);
  CycleLoop cycles(*collector);

  int kills_inside_snapshot = 0;
  for (int round = 0; round < 10; ++round) {
    pqxx::connection locker_connection(sandbox->dsn());
    pqxx::work locker(locker_connection);
    // The cycle reads feedback last: it waits on this lock with its snapshot open.
    locker.exec("LOCK TABLE feedback IN ACCESS EXCLUSIVE MODE");
    const bool waiting = WaitFor(
        [] {
          return Scalar(std::string("SELECT count(*) ") + kCollectorBackends +
                        " AND wait_event_type = 'Lock'"
                        " AND xact_start IS NOT NULL") > 0;
        },
        5s);
    Exec(std::string("SELECT pg_terminate_backend(pid) ") + kCollectorBackends);
    locker.abort();
    if (waiting) ++kills_inside_snapshot;
    const int before = cycles.successes();
    ASSERT_TRUE(WaitFor([&] { return cycles.successes() > before; }, 10s)) << "round " << round;
  }
  for (int restart = 0; restart < 3; ++restart) {
    sandbox->Stop();
    std::this_thread::sleep_for(100ms);
    sandbox->Start();
    const int before = cycles.successes();
    ASSERT_TRUE(WaitFor([&] { return cycles.successes() > before; }, 10s)) << "restart " << restart;
  }
  writers.Stop();
  cycles.Stop();

  EXPECT_GE(kills_inside_snapshot, 8);
  EXPECT_GT(cycles.failures(), 10);
  EXPECT_GT(writers.commits(), 20);
  const CollectOutput output = CollectUntilOk(*collector);
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Value(output, "outcomes_store_up"), 1);
  ExpectCountersEqualStore(output.families);
}

// The scheduler's watchdog cancels an overdue cycle from its own thread: cancelling while the
// store kills the connection under the cycle must not touch a closed connection.
TEST_F(StoreFaultsTest, CancelFromTheWatchdogWhileBackendsAreKilled) {
  InsertCommitted(200);
  auto collector = MakeCollector([] { return std::chrono::steady_clock::now(); });
  ASSERT_TRUE(collector->Collect().status.ok());
  Writers writers(2);
  CycleLoop cycles(*collector);
  std::atomic<bool> stop{false};
  std::thread watchdog([&] {
    while (!stop) {
      collector->Cancel();
      std::this_thread::sleep_for(1ms);
    }
  });
  const auto until = std::chrono::steady_clock::now() + 3s;
  int kills = 0;
  while (std::chrono::steady_clock::now() < until) {
    Exec(std::string("SELECT pg_terminate_backend(pid) ") + kCollectorBackends);
    ++kills;
    std::this_thread::sleep_for(5ms);
  }
  stop = true;
  watchdog.join();
  writers.Stop();
  cycles.Stop();

  EXPECT_GT(kills, 50);
  EXPECT_GT(cycles.failures(), 10);
  const CollectOutput output = CollectUntilOk(*collector);
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectCountersEqualStore(output.families);
}

void TerminateCollectorBackends() {
  Exec(std::string("SELECT pg_terminate_backend(pid) ") + kCollectorBackends);
  ASSERT_TRUE(WaitFor(
      [] { return Scalar(std::string("SELECT count(*) ") + kCollectorBackends) == 0; }, 5s));
}

// Regression: the first cycle after the store closed the idle connection failed.
TEST_F(StoreFaultsTest, IdleConnectionClosedByTheStoreCostsNoCycle) {
  auto collector = MakeCollector();
  ASSERT_TRUE(collector->Collect().status.ok());
  TerminateCollectorBackends();  // as idle_session_timeout or a restart between cycles does
  InsertCommitted(10);
  const CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectCountersEqualStore(output.families);
}

// The cycle retried on a fresh connection still runs with the session's statement_timeout.
TEST_F(StoreFaultsTest, ReconnectAfterTheStoreClosedTheConnectionKeepsTheStatementTimeout) {
  auto collector = MakeCollector([this] { return clock_.Now(); },
                                 [](StoreConfig& config) { config.statement_timeout = 200ms; });
  ASSERT_TRUE(collector->Collect().status.ok());
  TerminateCollectorBackends();
  pqxx::connection locker_connection(sandbox->dsn());
  // The server ends the locker after 4 s: a cycle without a statement timeout waits that long.
  pqxx::nontransaction(locker_connection).exec("SET idle_in_transaction_session_timeout = '4s'");
  pqxx::work locker(locker_connection);
  locker.exec("LOCK TABLE outcome_events IN ACCESS EXCLUSIVE MODE");
  const auto started = std::chrono::steady_clock::now();
  const CollectOutput output = collector->Collect();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  ASSERT_FALSE(output.status.ok());
  EXPECT_NE(output.status.message().find("statement timeout"), std::string::npos)
      << output.status.message();
}

constexpr const char* kTables[] = {"recommendations", "outcome_events", "feedback"};

// Adds `more` to `base`, key by key.
Samples Sum(Samples base, const Samples& more) {
  for (const auto& [key, value] : more) base[key] += value;
  return base;
}

void ExpectNear(const Samples& actual, const Samples& expected, const std::string& name) {
  ASSERT_EQ(actual.size(), expected.size()) << name;
  for (const auto& [key, value] : expected) {
    ASSERT_TRUE(actual.contains(key)) << name << " " << key;
    EXPECT_NEAR(actual.at(key), value, 1e-6) << name << " " << key;
  }
}

// The restore of an older backup as an operator does it: the tables emptied, the backup's
// rows loaded again and each id sequence set back to the backup's highest id.
void RestoreBackup() {
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  txn.exec("TRUNCATE feedback, outcome_events, recommendations");
  for (const std::string table : kTables) {
    txn.exec("INSERT INTO " + table + " SELECT * FROM backup_" + table);
    txn.exec("SELECT setval(pg_get_serial_sequence('" + table + "', 'id'), max(id)) FROM " + table);
  }
  txn.commit();
}

std::size_t Occurrences(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

// Regression: after a restore the new rows took ids below the watermark and were never
// counted, and the next recount booked the rows the backup lacked as deleted.
TEST_F(StoreFaultsTest, RestoredOlderBackupCountsEveryRowWrittenAfterIt) {
  InsertCommitted(300);
  for (const std::string table : kTables) {
    Exec("DROP TABLE IF EXISTS backup_" + table + "; CREATE TABLE backup_" + table +
         " AS SELECT * FROM " + table);
  }
  auto collector = MakeCollector();
  ASSERT_TRUE(collector->Collect().status.ok());
  InsertCommitted(200);  // written after the backup: lost by the restore, counted before it
  const CollectOutput before = collector->Collect();
  ASSERT_TRUE(before.status.ok());
  ExpectCountersEqualStore(before.families);

  RestoreBackup();
  const std::int64_t restored_recommendations = Scalar("SELECT max(id) FROM recommendations");
  const std::int64_t restored_events = Scalar("SELECT max(id) FROM outcome_events");
  const std::int64_t restored_feedback = Scalar("SELECT max(id) FROM feedback");
  ASSERT_TRUE(collector->Collect().status.ok());
  {
    Writers writers(2);  // the writers go on while the collector runs
    for (int cycle = 0; cycle < 20; ++cycle) {
      ASSERT_TRUE(collector->Collect().status.ok());
      std::this_thread::sleep_for(10ms);
    }
  }
  InsertCommitted(50);
  clock_.Advance(6min);  // and a full recount follows
  const CollectOutput after = collector->Collect();
  ASSERT_TRUE(after.status.ok());

  const auto written_after_restore = StoreCounters(
      {"r.id > " + std::to_string(restored_recommendations),
       "e.id > " + std::to_string(restored_events), "f.id > " + std::to_string(restored_feedback)});
  ASSERT_GT(written_after_restore.at("outcomes_recommendations_total").size(), 0u);
  for (const auto& [name, rows] : written_after_restore) {
    ExpectNear(SamplesOf(after.families, name), Sum(SamplesOf(before.families, name), rows), name);
  }
  const std::string log = log_output_.str();
  EXPECT_EQ(Occurrences(log, "went back below the ids counted"), 3u) << log;
  EXPECT_EQ(Occurrences(log, "table=recommendations counted_up_to_id="), 1u) << log;
  EXPECT_EQ(Occurrences(log, "fewer rows than counted"), 0u) << log;
  EXPECT_EQ(Value(after, "outcomes_store_recount_corrections_total", "table=recommendations,"), 0);
}

// Regression: after setval() far ahead, outcomes_store_pending_late_ids read 9.2e18.
TEST_F(StoreFaultsTest, SequenceSetFarAheadIsNotReportedAsPendingIds) {
  InsertCommitted(20);
  auto collector = MakeCollector();
  ASSERT_TRUE(collector->Collect().status.ok());
  pqxx::connection slow_connection(sandbox->dsn());
  pqxx::work slow(slow_connection);
  InsertBatch(slow, 10);  // takes ids before the jump, commits after it
  for (const std::string table : kTables) {
    Exec("SELECT setval(pg_get_serial_sequence('" + table + "', 'id'), 9000000000000000000)");
  }
  InsertCommitted(10);
  CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(Value(output, "outcomes_store_pending_late_ids", "table=recommendations,"),
            kMinTrackedGapIds);
  EXPECT_NE(log_output_.str().find("ids jumped past the watermark"), std::string::npos);

  slow.commit();
  output = collector->Collect();
  ASSERT_TRUE(output.status.ok());
  EXPECT_EQ(Value(output, "outcomes_store_pending_late_ids", "table=recommendations,"),
            kMinTrackedGapIds - 10);
  ExpectCountersEqualStore(output.families);
  clock_.Advance(11min);  // the window passes: nothing is pending any more
  output = collector->Collect();
  ASSERT_TRUE(output.status.ok());
  EXPECT_EQ(Value(output, "outcomes_store_pending_late_ids", "table=recommendations,"), 0);
  EXPECT_EQ(Value(output, "outcomes_store_recount_corrections_total", "table=recommendations,"), 0);
  ExpectCountersEqualStore(output.families);
}

}  // namespace
}  // namespace outcomes
