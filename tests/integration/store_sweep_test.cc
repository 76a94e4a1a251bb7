// The store collector's reconciliation sweep against a real PostgreSQL: a transaction that
// commits after store.late_commit_window is counted exactly once within one sweep period, even
// when store.sweep_ranges_per_cycle stretches the period; deleted and updated rows keep the
// counters as docs/EXACTNESS.md says; the sweep's statements read through the primary key.
#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>
#include <utility>

#include "exporter/collectors/store.h"
#include "store_test_support.h"
#include "tests/support/forwarding_session.h"

namespace outcomes {
namespace {

using namespace std::chrono_literals;
using namespace testing_support;

class StoreSweepTest : public testing::Test {
 protected:
  void SetUp() override { sandbox->Reset(); }

  using Wrap = std::function<std::unique_ptr<StoreSession>(std::unique_ptr<StoreSession>)>;
  // A collector on real sessions, each passed through `wrap` when given.
  std::unique_ptr<StoreCollector> MakeCollector(StoreConfig config, Wrap wrap = {}) {
    config.dsn = sandbox->dsn();
    config.max_backoff = 100ms;
    return std::make_unique<StoreCollector>(
        config, StoreCollectorDeps{log_,
                                   [wrap](const SessionOptions& options) {
                                     std::unique_ptr<StoreSession> real = MakePgSession(options);
                                     return wrap ? wrap(std::move(real)) : std::move(real);
                                   },
                                   [this] { return clock_.Now(); }});
  }

  // `count` recommendations with their events and feedback, committed.
  static void InsertCommitted(int count) {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    InsertBatch(txn, count);
    txn.commit();
  }

  // One cycle `interval` after the last one.
  CollectOutput Cycle(StoreCollector& collector, Duration interval) {
    clock_.Advance(interval);
    CollectOutput output = collector.Collect();
    EXPECT_TRUE(output.status.ok()) << output.status.message();
    return output;
  }

  static double Value(const CollectOutput& output, const std::string& name,
                      const std::string& key) {
    const Samples samples = SamplesOf(output.families, name);
    const auto it = samples.find(key);
    return it == samples.end() ? -1 : it->second;
  }

  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
  FakeClock clock_;
};

// Rolled-back transactions between committed ones: `count` ranges of missing ids.
void MakeRolledBackRanges(pqxx::connection& connection, int count) {
  for (int i = 0; i < count; ++i) {
    pqxx::work lost(connection);
    InsertBatch(lost, 2);
    lost.abort();
    pqxx::work kept(connection);
    InsertBatch(kept, 1);
    kept.commit();
  }
}

TEST_F(StoreSweepTest, ACommitOlderThanTheWindowIsCountedOnceWithinOneSweepPeriod) {
  StoreConfig config;
  config.interval = 1s;
  config.reconcile_interval = 2s;
  config.late_commit_window = 5s;
  config.sweep_ranges_per_cycle = 4;  // 30 ranges: the bound stretches the pass to 8 cycles
  auto collector = MakeCollector(config);
  pqxx::connection connection(sandbox->dsn());
  MakeRolledBackRanges(connection, 10);
  ASSERT_TRUE(collector->Collect().status.ok());

  pqxx::connection slow_connection(sandbox->dsn());
  pqxx::work slow(slow_connection);
  InsertBatch(slow, 3);  // its ids are missing when the watermark passes them (one range with
                         // the first rolled-back ids after it)
  MakeRolledBackRanges(connection, 20);
  Cycle(*collector, config.interval);
  Cycle(*collector, config.late_commit_window);  // every gap expires into the sweep
  CollectOutput output = Cycle(*collector, config.interval);
  EXPECT_EQ(Value(output, "outcomes_store_pending_late_ids", "table=recommendations,"), 0);
  EXPECT_EQ(Value(output, "outcomes_store_sweep_ranges", "table=recommendations,"), 30);
  EXPECT_EQ(Value(output, "outcomes_store_sweep_period_seconds", "table=recommendations,"), 8);
  slow.commit();

  // Within one period (8 cycles) the rows are counted, once, and later passes add nothing.
  int cycles = 0;
  while (cycles < 8 &&
         Value(output, "outcomes_store_recount_corrections_total", "table=recommendations,") == 0) {
    output = Cycle(*collector, config.interval);
    ++cycles;
  }
  EXPECT_EQ(Value(output, "outcomes_store_recount_corrections_total", "table=recommendations,"), 3);
  ExpectCountersEqualStore(output.families);
  for (int i = 0; i < 16; ++i) output = Cycle(*collector, config.interval);
  EXPECT_EQ(Value(output, "outcomes_store_recount_corrections_total", "table=recommendations,"), 3);
  ExpectCountersEqualStore(output.families);
  EXPECT_NE(log_output_.str().find("the sweep found rows committed after"), std::string::npos);
}

// What EXACTNESS.md defines: a deleted row stays counted (counters hold everything the store
// ever held) and an updated row keeps the labels it was counted with; neither is counted again.
TEST_F(StoreSweepTest, DeletedAndUpdatedRowsKeepTheCountersOverASweepPeriod) {
  StoreConfig config;
  config.interval = 1s;
  config.reconcile_interval = 2s;
  config.late_commit_window = 1s;
  auto collector = MakeCollector(config);
  pqxx::connection connection(sandbox->dsn());
  MakeRolledBackRanges(connection, 5);  // something for the sweep to pass over
  {
    pqxx::work txn(connection);
    InsertBatch(txn, 200);
    txn.commit();
  }
  const CollectOutput before = Cycle(*collector, config.interval);
  const auto counted = StoreCounters();
  {
    pqxx::work txn(connection);
    txn.exec("DELETE FROM feedback WHERE id IN (SELECT id FROM feedback ORDER BY id LIMIT 10)");
    txn.exec(
        "UPDATE recommendations SET model_version = 'rewritten' "
        "WHERE id IN (SELECT id FROM recommendations ORDER BY id LIMIT 7)");
    txn.commit();
  }
  CollectOutput output = before;
  for (int i = 0; i < 6; ++i) output = Cycle(*collector, config.interval);  // three periods
  for (const auto& [family, samples] : counted) {
    EXPECT_EQ(SamplesOf(output.families, family), samples) << family;
  }
  EXPECT_EQ(Value(output, "outcomes_store_recount_corrections_total", "table=recommendations,"), 0);
  EXPECT_EQ(Value(output, "outcomes_store_recount_corrections_total", "table=feedback,"), 0);
}

// A transaction open when the first count's snapshot is taken, whose ids
// are far below the top (left to the sweep, not re-checked every cycle), is counted when it
// commits, once.
TEST_F(StoreSweepTest, ATransactionOpenAtStartFarBelowTheTopIsCountedWhenItCommits) {
  StoreConfig config;
  config.interval = 1s;
  config.reconcile_interval = 2s;
  pqxx::connection slow_connection(sandbox->dsn());
  pqxx::work slow(slow_connection);
  InsertBatch(slow, 4);
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    txn.exec(
        "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) "
        "SELECT 'c', 'p', 'bulk', 0.5, 1 FROM generate_series(1, 150000)");
    txn.commit();
  }
  auto collector = MakeCollector(config);
  CollectOutput output = Cycle(*collector, config.interval);
  EXPECT_EQ(Value(output, "outcomes_store_pending_late_ids", "table=recommendations,"), 0);
  EXPECT_EQ(Value(output, "outcomes_store_sweep_ranges", "table=recommendations,"), 1);
  ExpectCountersEqualStore(output.families);
  slow.commit();
  for (int i = 0; i < 2; ++i) output = Cycle(*collector, config.interval);  // one period
  EXPECT_EQ(Value(output, "outcomes_store_recount_corrections_total", "table=recommendations,"), 4);
  ExpectCountersEqualStore(output.families);
  for (int i = 0; i < 4; ++i) output = Cycle(*collector, config.interval);
  ExpectCountersEqualStore(output.families);
}

// Ids far apart make the first count split each table into several ranges (at least 1M ids
// each): every row is counted once, whichever range it falls in.
TEST_F(StoreSweepTest, AFirstCountOverSeveralRangesIsExact) {
  pqxx::connection connection(sandbox->dsn());
  for (const char* next_id : {"1500000", "2600000", "4100000"}) {
    pqxx::work txn(connection);
    InsertBatch(txn, 300);
    for (const char* table : {"recommendations", "outcome_events", "feedback"}) {
      txn.exec(std::string("SELECT setval('") + table + "_id_seq', " + next_id + ")");
    }
    txn.commit();
  }
  {
    pqxx::work txn(connection);
    InsertBatch(txn, 300);
    txn.commit();
  }
  auto collector = MakeCollector(StoreConfig{});
  const CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectCountersEqualStore(output.families);
  // Of the missing ids, only the last 100,000 are re-checked every cycle; the sweep has the rest.
  EXPECT_LE(Value(output, "outcomes_store_pending_late_ids", "table=recommendations,"), 100'000);
  // Three runs of missing ids, the second cut in two by the ranges' boundary (2,050,300): the
  // ids after the last one present in a range are its gap too.
  EXPECT_EQ(Value(output, "outcomes_store_sweep_ranges", "table=recommendations,"), 4);
}

// A real session that remembers, for each snapshot that counted a range of the first count,
// the snapshot itself (pg_current_snapshot()), and that lets a writer commit once, right after
// the first snapshot is exported.
class SnapshotProbeSession : public ForwardingSession {
 public:
  struct Seen {
    std::mutex mutex;
    std::vector<std::string> snapshots;  // of the sessions that counted ranges
    std::string exported;                // of the session that exported
    std::function<void()> after_export;
    std::condition_variable helped;
    int helpers_counting = 0;
    std::string after_export_sql;  // run by the exporting session right after the export
    Duration helper_delay{};       // before each range a helper counts
  };
  SnapshotProbeSession(std::unique_ptr<StoreSession> inner, Seen& seen)
      : ForwardingSession(std::move(inner)), seen_(seen) {}
  Status InSnapshot(const std::function<Status(SnapshotReader&)>& body) override {
    return inner().InSnapshot([&](SnapshotReader& inner) {
      Probe reader(inner, seen_);
      Status status = body(reader);
      if (!status.ok() || !reader.counted) return status;
      Result<std::vector<Row>> snapshot =
          inner.Query("probe", "SELECT pg_current_snapshot()::text", {});
      if (!snapshot.ok()) return snapshot.status();
      const std::lock_guard<std::mutex> lock(seen_.mutex);
      const std::string text = snapshot.value().at(0).at(0).value_or("");
      seen_.snapshots.push_back(text);
      if (reader.exported) seen_.exported = text;
      return status;
    });
  }

 private:
  struct Probe : SnapshotReader {
    Probe(SnapshotReader& reader, Seen& shared) : inner(reader), seen(shared) {}
    Result<std::vector<Row>> Query(const std::string& name, const std::string& sql,
                                   const std::vector<std::string>& params) override {
      if (name.ends_with("_start_rows")) {
        counted = true;
        // The exporter waits with its first range until a helper counts one, so that the
        // ranges are spread over sessions however fast the first is.
        std::unique_lock<std::mutex> lock(seen.mutex);
        if (exported) {
          seen.helped.wait_for(lock, 10s, [this] { return seen.helpers_counting > 0; });
        } else {
          ++seen.helpers_counting;
          seen.helped.notify_all();
          lock.unlock();
          std::this_thread::sleep_for(seen.helper_delay);
        }
      }
      Result<std::vector<Row>> rows = inner.Query(name, sql, params);
      if (name == "store_start_snapshot" && rows.ok()) {
        exported = true;
        if (!seen.after_export_sql.empty()) {
          Result<std::vector<Row>> set = inner.Query("setting", seen.after_export_sql, {});
          if (!set.ok()) return set;
        }
        const std::lock_guard<std::mutex> lock(seen.mutex);
        if (seen.after_export) std::exchange(seen.after_export, nullptr)();
      }
      return rows;
    }
    SnapshotReader& inner;
    Seen& seen;
    bool counted = false;
    bool exported = false;
  };
  Seen& seen_;
};

// The sessions of the first count read the one snapshot the first of them exported, even when
// a writer commits in between: its rows are counted once, by the cycles after.
TEST_F(StoreSweepTest, TheFirstCountReadsOneSnapshotOnEverySession) {
  InsertCommitted(40);
  SnapshotProbeSession::Seen seen;
  seen.after_export = [] { InsertCommitted(7); };
  StoreConfig config;
  auto collector = MakeCollector(config, [&seen](std::unique_ptr<StoreSession> real) {
    return std::make_unique<SnapshotProbeSession>(std::move(real), seen);
  });
  CollectOutput output = Cycle(*collector, config.interval);
  ASSERT_GE(seen.snapshots.size(), 2U);
  ASSERT_FALSE(seen.exported.empty());
  for (const std::string& snapshot : seen.snapshots) EXPECT_EQ(snapshot, seen.exported);
  ExpectCountersEqualStore(output.families);
  output = Cycle(*collector, config.interval);
  ExpectCountersEqualStore(output.families);
}

// The exporting session ends its transaction once the others have imported its snapshot, not
// when they finish: a store's idle_in_transaction_session_timeout shorter than the slowest
// range does not fail the first count.
TEST_F(StoreSweepTest, TheExportingSessionDoesNotWaitInItsTransactionForTheOthers) {
  InsertCommitted(40);
  SnapshotProbeSession::Seen seen;
  seen.after_export_sql = "SET idle_in_transaction_session_timeout = '1s'";
  seen.helper_delay = 3s;
  StoreConfig config;
  auto collector = MakeCollector(config, [&seen](std::unique_ptr<StoreSession> real) {
    return std::make_unique<SnapshotProbeSession>(std::move(real), seen);
  });
  const CollectOutput output = Cycle(*collector, config.interval);
  EXPECT_GE(seen.snapshots.size(), 2U);
  ExpectCountersEqualStore(output.families);
}

// A real session that, at the end of each snapshot, reads the snapshot's jit and parallel
// query settings.
class JitProbeSession : public ForwardingSession {
 public:
  // Sessions of the first count run at once: they share `seen`.
  struct Seen {
    std::mutex mutex;
    std::vector<std::string> settings;
  };
  JitProbeSession(std::unique_ptr<StoreSession> inner, Seen& seen)
      : ForwardingSession(std::move(inner)), seen_(seen) {}
  Status InSnapshot(const std::function<Status(SnapshotReader&)>& body) override {
    return inner().InSnapshot([&](SnapshotReader& reader) {
      Status status = body(reader);
      if (!status.ok()) return status;
      Result<std::vector<Row>> jit =
          reader.Query("probe",
                       "SELECT current_setting('jit') || ',' || "
                       "current_setting('max_parallel_workers_per_gather')",
                       {});
      if (!jit.ok()) return jit.status();
      const std::lock_guard<std::mutex> lock(seen_.mutex);
      seen_.settings.push_back(jit.value().at(0).at(0).value_or(""));
      return status;
    });
  }

 private:
  Seen& seen_;
};

// The cycle's statements are never JIT-compiled: a sweep batch of a long history would pass
// jit_above_cost on a large table and cost far more to compile than to run. Nor do they take
// the store's parallel workers: the start-up already spreads its reads over connections.
TEST_F(StoreSweepTest, CycleStatementsRunWithoutJitOrParallelWorkers) {
  InsertCommitted(20);
  JitProbeSession::Seen seen;
  StoreConfig config;
  auto collector = MakeCollector(config, [&seen](std::unique_ptr<StoreSession> real) {
    return std::make_unique<JitProbeSession>(std::move(real), seen);
  });
  for (int i = 0; i < 2; ++i) Cycle(*collector, config.interval);
  ASSERT_FALSE(seen.settings.empty());
  for (const std::string& settings : seen.settings) EXPECT_EQ(settings, "off,0");
}

std::string ArrayOf(const std::vector<std::int64_t>& ids) {
  std::string out = "'{";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "}'";
}

// A full batch of the sweep (1000 ranges spread over the whole table), and the rows it finds,
// must read through the primary key: the cost follows the ranges, not the table.
TEST_F(StoreSweepTest, SweepStatementsUseThePrimaryKey) {
  pqxx::connection connection(sandbox->dsn());
  {
    pqxx::work txn(connection);
    for (int i = 0; i < 10; ++i) InsertBatch(txn, 5000);
    txn.exec("ANALYZE");
    txn.commit();
  }
  for (const TableSpec& spec : ReferenceTables()) {
    pqxx::nontransaction txn(connection);
    const auto top = txn.exec("SELECT max(id) FROM " + spec.table)[0][0].as<std::int64_t>();
    std::vector<std::int64_t> firsts;
    std::vector<std::int64_t> lasts;
    for (std::int64_t i = 0; i < 1000; ++i) {
      firsts.push_back(1 + i * top / 1000);
      lasts.push_back(1 + i * top / 1000 + 1);
    }
    std::string late = store_sql::LateIds(spec);
    late.replace(late.find("$1"), 2, ArrayOf(firsts));
    late.replace(late.find("$2"), 2, ArrayOf(lasts));
    std::string rows = store_sql::RowsWithIds(spec);
    const std::vector<std::int64_t> found(firsts.begin(), firsts.begin() + 20);
    rows.replace(rows.find("$1"), 2, ArrayOf(found));
    for (const std::string& sql : {late, rows}) {
      std::string plan;
      for (const auto& row : txn.exec("EXPLAIN " + sql)) plan += std::string(row[0].c_str()) + "\n";
      EXPECT_NE(plan.find(spec.table + "_pkey"), std::string::npos) << plan;
      EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;
    }
  }
}

// The ids missing in a range run to its end: those after the last id present, and every id of
// a range where none is present, are gaps too (the first count's ranges meet inside a run of
// missing ids).
TEST_F(StoreSweepTest, GapsRunToTheEndOfTheRange) {
  pqxx::connection connection(sandbox->dsn());
  {
    pqxx::work txn(connection);
    InsertBatch(txn, 5);  // ids 1 to 5
    txn.exec("SELECT setval('recommendations_id_seq', 100)");
    InsertBatch(txn, 5);  // ids 101 to 105
    txn.commit();
  }
  std::unique_ptr<StoreSession> session = MakePgSession(SessionOptions{sandbox->dsn()});
  ASSERT_TRUE(session->Connect().ok());
  const TableSpec& spec = ReferenceTables()[0];
  ASSERT_EQ(spec.table, "recommendations");
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<IdRange>> found;
  const std::vector<std::pair<std::int64_t, std::int64_t>> ranges = {
      {0, 50}, {50, 100}, {0, 105}, {3, 103}, {100, 105}};
  const Status status = session->InSnapshot([&](SnapshotReader& reader) {
    for (const auto& [from, to] : ranges) {
      Result<std::vector<IdRange>> gaps = ReadGaps(reader, spec, "_test_gaps", from, to);
      if (!gaps.ok()) return gaps.status();
      found[{from, to}] = gaps.value();
    }
    return Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(found[std::make_pair(0, 50)], (std::vector<IdRange>{{6, 50}}));
  EXPECT_EQ(found[std::make_pair(50, 100)], (std::vector<IdRange>{{51, 100}}));
  EXPECT_EQ(found[std::make_pair(0, 105)], (std::vector<IdRange>{{6, 100}}));
  EXPECT_EQ(found[std::make_pair(3, 103)], (std::vector<IdRange>{{6, 100}}));
  EXPECT_TRUE(found[std::make_pair(100, 105)].empty());
}

}  // namespace
}  // namespace outcomes
