// The store collector against a real PostgreSQL: counters equal the store's GROUP BY exactly,
// under bulk loads, concurrent writers, late commits and a store restart.
#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "exporter/collectors/store.h"
#include "exporter/metrics/family.h"
#include "store_test_support.h"

namespace outcomes {
namespace {

using namespace std::chrono_literals;
using namespace testing_support;

class StoreEnvironment : public testing::Environment {
 public:
  void SetUp() override { sandbox = new PgSandbox(); }
  void TearDown() override { delete sandbox; }
};
const auto* const kEnvironment = testing::AddGlobalTestEnvironment(new StoreEnvironment);

class StoreCollectorTest : public testing::Test {
 protected:
  void SetUp() override { sandbox->Reset(); }

  std::unique_ptr<StoreCollector> MakeCollector(StoreConfig config = {}) {
    config.dsn = sandbox->dsn();
    config.interval = 50ms;
    config.max_backoff = 100ms;
    return std::make_unique<StoreCollector>(
        config, StoreCollectorDeps{
                    log_, [](const SessionOptions& options) { return MakePgSession(options); },
                    [this] { return clock_.Now(); }});
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

TEST_F(StoreCollectorTest, CountersEqualStoreAfterBulkLoads) {
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    InsertBatch(txn, 5000);
    txn.commit();
  }
  auto collector = MakeCollector();
  CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectCountersEqualStore(output.families);
  // A second bulk load is read incrementally.
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    InsertBatch(txn, 3000);
    txn.commit();
  }
  output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectCountersEqualStore(output.families);
  EXPECT_EQ(Value(output, "outcomes_store_up"), 1);
}

TEST_F(StoreCollectorTest, CountersEqualStoreUnderConcurrentWriters) {
  auto collector = MakeCollector();
  ASSERT_TRUE(collector->Collect().status.ok());
  std::atomic<bool> failed{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&failed, w] {
      try {
        pqxx::connection connection(sandbox->dsn());
        for (int i = 0; i < 40; ++i) {
          pqxx::work txn(connection);
          InsertBatch(txn, 5 + (i * 7 + w) % 20);
          // Hold some transactions open so that later ids commit first.
          if ((i + w) % 3 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5 + w * 3));
          if ((i + w) % 11 == 0) {
            txn.abort();  // rolled back: its ids stay missing forever
          } else {
            txn.commit();
          }
        }
      } catch (const std::exception& e) {
        failed = true;
        ADD_FAILURE() << e.what();
      }
    });
  }
  int cycles = 0;
  std::atomic<bool> done{false};
  std::thread joiner([&] {
    for (auto& writer : writers) writer.join();
    done = true;
  });
  while (!done) {
    ASSERT_TRUE(collector->Collect().status.ok());
    ++cycles;
    std::this_thread::sleep_for(3ms);
  }
  joiner.join();
  ASSERT_FALSE(failed);
  const CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_GT(cycles, 3);
  ExpectCountersEqualStore(output.families);
  // Exact without the sweep: the gap re-checks found every late commit.
  clock_.Advance(6min);
  const CollectOutput recounted = collector->Collect();
  ASSERT_TRUE(recounted.status.ok());
  EXPECT_EQ(Value(recounted, "outcomes_store_recount_corrections_total", "table=outcome_events,"),
            0);
  EXPECT_EQ(Value(recounted, "outcomes_store_recount_corrections_total", "table=recommendations,"),
            0);
  ExpectCountersEqualStore(recounted.families);
}

TEST_F(StoreCollectorTest, LateCommittingTransactionIsCountedExactlyOnce) {
  pqxx::connection slow_connection(sandbox->dsn());
  pqxx::connection fast_connection(sandbox->dsn());
  auto collector = MakeCollector();
  ASSERT_TRUE(collector->Collect().status.ok());

  pqxx::work slow(slow_connection);
  InsertBatch(slow, 10);  // takes the lower ids, commits last
  {
    pqxx::work fast(fast_connection);
    InsertBatch(fast, 10);
    fast.commit();
  }
  CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok());
  EXPECT_EQ(Value(output, "outcomes_store_pending_late_ids", "table=recommendations,"), 10);
  ExpectCountersEqualStore(output.families);  // the open transaction is not in the store yet

  slow.commit();
  output = collector->Collect();
  ASSERT_TRUE(output.status.ok());
  EXPECT_EQ(Value(output, "outcomes_store_pending_late_ids", "table=recommendations,"), 0);
  ExpectCountersEqualStore(output.families);

  clock_.Advance(6min);  // the sweep finds nothing left to correct
  output = collector->Collect();
  ASSERT_TRUE(output.status.ok());
  EXPECT_EQ(Value(output, "outcomes_store_recount_corrections_total", "table=recommendations,"), 0);
  ExpectCountersEqualStore(output.families);
}

TEST_F(StoreCollectorTest, TheSweepCatchesACommitOlderThanTheWindow) {
  StoreConfig config;
  config.late_commit_window = 1s;
  auto collector = MakeCollector(config);
  ASSERT_TRUE(collector->Collect().status.ok());
  pqxx::connection slow_connection(sandbox->dsn());
  pqxx::work slow(slow_connection);
  InsertBatch(slow, 5);
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work fast(connection);
    InsertBatch(fast, 5);
    fast.commit();
  }
  ASSERT_TRUE(collector->Collect().status.ok());
  clock_.Advance(2s);  // the gap expires: only the sweep can find these rows now
  ASSERT_TRUE(collector->Collect().status.ok());
  slow.commit();
  CollectOutput output = collector->Collect();
  EXPECT_EQ(SamplesOf(output.families, "outcomes_recommendations_total").size() > 0, true);
  EXPECT_EQ(Value(output, "outcomes_store_pending_late_ids", "table=recommendations,"), 0);

  clock_.Advance(5min);
  output = collector->Collect();
  ASSERT_TRUE(output.status.ok());
  EXPECT_EQ(Value(output, "outcomes_store_recount_corrections_total", "table=recommendations,"), 5);
  ExpectCountersEqualStore(output.families);
}

TEST_F(StoreCollectorTest, StoreOutageKeepsCountersAndRecoversExactly) {
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    InsertBatch(txn, 200);
    txn.commit();
  }
  auto collector = MakeCollector();
  CollectOutput before = collector->Collect();
  ASSERT_TRUE(before.status.ok());
  const Samples counters_before = SamplesOf(before.families, "outcomes_events_total");

  sandbox->Stop();
  CollectOutput during = collector->Collect();
  EXPECT_FALSE(during.status.ok());
  EXPECT_EQ(Value(during, "outcomes_store_up"), 0);
  EXPECT_EQ(SamplesOf(during.families, "outcomes_events_total"), counters_before);
  during = collector->Collect();  // in backoff or failing again: still the last counters
  EXPECT_FALSE(during.status.ok());
  EXPECT_EQ(SamplesOf(during.families, "outcomes_events_total"), counters_before);

  sandbox->Start();
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    InsertBatch(txn, 300);
    txn.commit();
  }
  clock_.Advance(1s);  // past the reconnect backoff
  CollectOutput after = collector->Collect();
  ASSERT_TRUE(after.status.ok()) << after.status.message();
  EXPECT_EQ(Value(after, "outcomes_store_up"), 1);
  ExpectCountersEqualStore(after.families);
  EXPECT_NE(log_output_.str().find("outcomes store connection restored"), std::string::npos);
}

TEST_F(StoreCollectorTest, QueryErrorIsReportedWithTheQueryName) {
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    txn.exec("ALTER TABLE feedback RENAME TO feedback_moved");
    txn.commit();
  }
  auto collector = MakeCollector();
  const CollectOutput output = collector->Collect();
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    txn.exec("ALTER TABLE feedback_moved RENAME TO feedback");
    txn.commit();
  }
  ASSERT_FALSE(output.status.ok());
  EXPECT_EQ(output.status.message().rfind("outcomes store: query feedback_max_id: ERROR:", 0), 0u)
      << output.status.message();
  EXPECT_EQ(Value(output, "outcomes_store_up"), 0);
}

TEST_F(StoreCollectorTest, StatementTimeoutCancelsASlowQuery) {
  StoreConfig config;
  config.statement_timeout = 100ms;
  auto collector = MakeCollector(config);
  ASSERT_TRUE(collector->Collect().status.ok());
  // Hold a lock that the collector's read must wait for: an ACCESS EXCLUSIVE lock blocks reads.
  pqxx::connection locker_connection(sandbox->dsn());
  pqxx::work locker(locker_connection);
  locker.exec("LOCK TABLE outcome_events IN ACCESS EXCLUSIVE MODE");
  const auto started = std::chrono::steady_clock::now();
  const CollectOutput output = collector->Collect();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  locker.abort();
  ASSERT_FALSE(output.status.ok());
  EXPECT_NE(output.status.message().find("statement timeout"), std::string::npos)
      << output.status.message();
}

TEST_F(StoreCollectorTest, UpdatesFreshnessFromNewestEvent) {
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    txn.exec(
        "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) "
        "VALUES ('c', 'p', 'v1', 0.5, 10)");
    txn.exec(
        "INSERT INTO outcome_events (recommendation_id, status, occurred_at) VALUES "
        "(1, 'PENDING', '2026-01-01T00:00:00Z'), (1, 'ACCEPTED', '2026-01-01T00:00:01.5Z')");
    txn.commit();
  }
  auto collector = MakeCollector();
  const CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok());
  EXPECT_DOUBLE_EQ(Value(output, "outcomes_store_last_event_timestamp_seconds"), 1767225601.5);
}

}  // namespace
}  // namespace outcomes

namespace outcomes {
namespace {

std::string WithParams(std::string sql, const std::string& first, const std::string& second) {
  for (const auto& [placeholder, value] : {std::pair{std::string("$1"), first}, {"$2", second}}) {
    for (std::size_t at = sql.find(placeholder); at != std::string::npos;
         at = sql.find(placeholder)) {
      sql.replace(at, placeholder.size(), value);
    }
  }
  return sql;
}

// The per-cycle statements must read through the primary key, so that their cost grows with
// the new rows and not with the table.
TEST_F(StoreCollectorTest, IncrementalStatementsUseThePrimaryKey) {
  pqxx::connection connection(sandbox->dsn());
  {
    pqxx::work txn(connection);
    for (int i = 0; i < 10; ++i) InsertBatch(txn, 5000);
    txn.exec("ANALYZE");
    txn.commit();
  }
  for (const TableSpec& spec : ReferenceTables()) {
    pqxx::nontransaction txn(connection);
    const std::int64_t top = txn.exec("SELECT max(id) FROM " + spec.table)[0][0].as<std::int64_t>();
    const std::string from = std::to_string(top - 100);
    const std::string to = std::to_string(top);
    for (const std::string& sql :
         {store_sql::MaxId(spec), store_sql::Gaps(spec), store_sql::RowsInRange(spec),
          store_sql::RowsWithIds(spec), store_sql::LateIds(spec)}) {
      const std::string bound =
          sql == store_sql::RowsWithIds(spec) ? WithParams(sql, "'{" + from + "," + to + "}'", "")
          : sql == store_sql::LateIds(spec) ? WithParams(sql, "'{" + from + "}'", "'{" + to + "}'")
                                            : WithParams(sql, from, to);
      std::string plan;
      for (const auto& row : txn.exec("EXPLAIN " + bound))
        plan += std::string(row[0].c_str()) + "\n";
      EXPECT_NE(plan.find(spec.table + "_pkey"), std::string::npos) << bound << "\n" << plan;
      EXPECT_EQ(plan.find("Seq Scan on " + spec.table), std::string::npos) << bound << "\n" << plan;
    }
  }
}

}  // namespace
}  // namespace outcomes

namespace outcomes {
namespace {

// 50 model versions m00..m49; version mNN has NN + 1 recommendations, each with one PURCHASED
// event of 10.00 and one SATISFACTION feedback of 5, so every business family has 50 label
// sets and m40..m49 are the 10 largest of each.
void InsertManyVersions(pqxx::connection& connection) {
  pqxx::work txn(connection);
  txn.exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) "
      "SELECT 'c', 'p', 'm' || lpad(v::text, 2, '0'), 0.5, 10 "
      "FROM generate_series(0, 49) v, generate_series(0, v) k");
  txn.exec(
      "INSERT INTO outcome_events (recommendation_id, status, revenue) "
      "SELECT id, 'PURCHASED', 10 FROM recommendations");
  txn.exec(
      "INSERT INTO feedback (recommendation_id, feedback_type, score) "
      "SELECT id, 'SATISFACTION', 5 FROM recommendations");
  txn.commit();
}

// The store's own counts for recommendations, restricted to the given model versions.
Samples RecommendationsOf(pqxx::connection& connection, const std::string& versions_regex) {
  return Expected(connection,
                  "SELECT model_version, '', '', count(*) FROM recommendations "
                  "WHERE model_version ~ '" +
                      versions_regex + "' GROUP BY 1",
                  {"model_version", "ab_test", "variant"});
}

const std::vector<std::string> kBusinessFamilies = {
    "outcomes_recommendations_total", "outcomes_events_total", "outcomes_revenue_total",
    "outcomes_feedback_total", "outcomes_feedback_score_total"};

std::string DroppedKey(const std::string& family) {
  return "collector=store,family=" + family + ",";
}

TEST_F(StoreCollectorTest, SeriesLimitExportsTheLargestLabelSetsExactly) {
  pqxx::connection connection(sandbox->dsn());
  InsertManyVersions(connection);
  StoreConfig config;
  config.series_limit = 10;
  auto collector = MakeCollector(config);
  const CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(SamplesOf(output.families, "outcomes_recommendations_total"),
            RecommendationsOf(connection, "^m4"));
  for (const std::string& family : kBusinessFamilies) {
    const Samples samples = SamplesOf(output.families, family);
    EXPECT_EQ(samples.size(), 10u) << family;
    for (const auto& [key, value] : samples) {
      EXPECT_EQ(key.rfind("model_version=m4", 0), 0u) << family << " " << key;
    }
    EXPECT_EQ(Value(output, "outcomes_exporter_series_dropped", DroppedKey(family)), 40) << family;
  }
  EXPECT_EQ(Value(output, "outcomes_revenue_total",
                  "model_version=m49,ab_test=,variant=,status=PURCHASED,"),
            500);
}

// A larger label set that appears once the family is full waits; the exported ones stay and
// keep counting exactly, and the ledger counts the newcomer (the drop count grows).
TEST_F(StoreCollectorTest, SeriesLimitKeepsExportedSeriesWhenLargerOnesAppear) {
  pqxx::connection connection(sandbox->dsn());
  InsertManyVersions(connection);
  StoreConfig config;
  config.series_limit = 10;
  auto collector = MakeCollector(config);
  ASSERT_TRUE(collector->Collect().status.ok());
  {
    pqxx::work txn(connection);
    txn.exec(
        "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) "
        "SELECT 'c', 'p', v, 0.5, 10 FROM unnest(ARRAY['m99', 'm40']) v, "
        "generate_series(1, 1000) k");
    txn.commit();
  }
  const CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  EXPECT_EQ(SamplesOf(output.families, "outcomes_recommendations_total"),
            RecommendationsOf(connection, "^m4"));
  EXPECT_EQ(Value(output, "outcomes_recommendations_total", "model_version=m40,ab_test=,variant=,"),
            1041);
  EXPECT_EQ(Value(output, "outcomes_exporter_series_dropped",
                  DroppedKey("outcomes_recommendations_total")),
            41);
}

TEST_F(StoreCollectorTest, SeriesLimitWarnsOnceNotEveryCycle) {
  pqxx::connection connection(sandbox->dsn());
  InsertManyVersions(connection);
  StoreConfig config;
  config.series_limit = 10;
  auto collector = MakeCollector(config);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(collector->Collect().status.ok());
  const std::string log = log_output_.str();
  const std::string warning = "families exceed store.series_limit";
  ASSERT_NE(log.find(warning), std::string::npos) << log;
  EXPECT_EQ(log.find(warning), log.rfind(warning)) << log;
  EXPECT_NE(log.find("families=outcomes_events_total,outcomes_feedback_score_total,"
                     "outcomes_feedback_total,outcomes_recommendations_total,"
                     "outcomes_revenue_total dropped=200"),
            std::string::npos)
      << log;
}

TEST_F(StoreCollectorTest, UnderTheSeriesLimitNothingIsDropped) {
  pqxx::connection connection(sandbox->dsn());
  InsertManyVersions(connection);
  auto collector = MakeCollector();
  const CollectOutput output = collector->Collect();
  ASSERT_TRUE(output.status.ok()) << output.status.message();
  ExpectCountersEqualStore(output.families);
  for (const std::string& family : kBusinessFamilies) {
    EXPECT_EQ(Value(output, "outcomes_exporter_series_dropped", DroppedKey(family)), 0) << family;
  }
  EXPECT_EQ(log_output_.str().find("series_limit"), std::string::npos);
}

}  // namespace
}  // namespace outcomes
