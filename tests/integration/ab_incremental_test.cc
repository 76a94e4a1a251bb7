// The A/B collector's incremental aggregates against a real PostgreSQL: on randomized data
// written by concurrent writers, with transactions that commit late or roll back and with a
// restarted collector, every value the collector exports equals what the full-window SQL (the
// oracle) gives in the same state; the reconciliation sweep counts what committed after
// store.late_commit_window without a full-window statement; and the steady-state statements
// read through indexes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <thread>

#include "exporter/collectors/ab_aggregates.h"
#include "exporter/collectors/ab_tests.h"
#include "pg_sandbox.h"

namespace outcomes {
namespace {

using testing_support::PgSandbox;

// Recommendations in tests t1 (A/B), t2 (ctl/trt, 20% in trt), t3 (registered later), the
// ended test "old", and outside any test, with variants that are sometimes neither of the
// test's; customers drawn from a small pool so that they come back; events and feedback on
// some of the new and of random older recommendations.
constexpr const char* kWriteSql = R"SQL(
WITH r AS (
  INSERT INTO recommendations (customer_id, product_id, model_version, ab_test_id, variant,
                               score, price)
  SELECT 'c' || floor(random() * 150)::int, 'p', 'v1',
         (ARRAY['t1', 't1', 't2', 't2', 't3', 'old', NULL])[1 + floor(random() * 7)::int],
         (ARRAY['A', 'B', 'ctl', 'trt', 'trt', 'C'])[1 + floor(random() * 6)::int], 0.5, 10
  FROM generate_series(1, $1::int)
  RETURNING id
), targets AS (
  SELECT id FROM r WHERE random() < 0.6
  UNION ALL
  (SELECT id FROM recommendations ORDER BY random() LIMIT $1::int / 2)
), events AS (
  INSERT INTO outcome_events (recommendation_id, status, revenue)
  SELECT id, s.status, CASE WHEN s.status IN ('PURCHASED', 'RETURNED')
                            THEN round((random() * 200)::numeric, 2) ELSE 0 END
  FROM targets, LATERAL (SELECT (ARRAY['PURCHASED', 'PURCHASED', 'RETURNED', 'ACCEPTED',
                                       'NOT_PURCHASED'])[1 + floor(random() * 5)::int] AS status
                         OFFSET 0) s
  RETURNING 1
)
INSERT INTO feedback (recommendation_id, feedback_type, score)
SELECT id, (ARRAY['SATISFACTION', 'SATISFACTION', 'QUALITY'])[1 + floor(random() * 3)::int],
       1 + floor(random() * 5)::int
FROM targets WHERE random() < 0.5
)SQL";

bool SameNumber(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

class AbIncrementalTest : public testing::Test {
 protected:
  static void SetUpTestSuite() { sandbox_ = new PgSandbox(); }
  static void TearDownTestSuite() {
    delete sandbox_;
    sandbox_ = nullptr;
  }

  void SetUp() override {
    sandbox_->Reset();
    store_.dsn = sandbox_->dsn();
    store_.reconcile_interval = std::chrono::hours(1);
    Exec(
        "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at, ends_at, status, "
        "traffic_share_b) VALUES ('t1', 'A', 'B', now(), NULL, 'RUNNING', NULL), "
        "('t2', 'ctl', 'trt', now(), NULL, 'RUNNING', 0.2), "
        "('old', 'A', 'B', now() - interval '90 days', now() - interval '60 days', 'ENDED', NULL)");
  }

  static void Exec(const std::string& sql) {
    pqxx::connection connection(sandbox_->dsn());
    pqxx::work txn(connection);
    txn.exec(sql);
    txn.commit();
  }

  static void Write(pqxx::transaction_base& txn, int recommendations) {
    txn.exec_params(kWriteSql, recommendations);
  }

  std::unique_ptr<AbTestsCollector> NewCollector() {
    return std::make_unique<AbTestsCollector>(
        store_, config_,
        StoreCollectorDeps{log_,
                           [](const SessionOptions& options) { return MakePgSession(options); },
                           [this] { return now_; }});
  }

  // One cycle of `collector`, then every exported value compared with the oracle's in the same
  // store state (no writer commits in between): the arms exactly, and the statistics as
  // AnalyzeAbTest gives them from the oracle's arms and the collector's earlier evidence.
  void CycleAndExpectOracle(AbTestsCollector& collector, const std::string& where) {
    std::map<std::string, AlwaysValidEvidence> evidence;
    for (const AbResult& result : collector.results()) evidence[result.test] = result.evidence;
    const CollectOutput output = collector.Collect();
    ASSERT_TRUE(output.status.ok()) << where << ": " << output.status.message() << "\n"
                                    << log_output_.str();
    std::map<std::string, AbResult> expected;
    pqxx::connection connection(sandbox_->dsn());
    pqxx::nontransaction txn(connection);
    std::map<std::string, std::pair<AbArm, AbArm>> arms;
    std::map<std::string, double> shares;
    for (const auto& row :
         txn.exec_params(ab_sql::FullWindow(true), std::string("604800 seconds"))) {
      const std::string test = row[0].c_str();
      AbArm arm;
      arm.variant = row[1].c_str();
      arm.customers = row[5].as<std::int64_t>();
      arm.recommendations = row[6].as<std::int64_t>();
      arm.converted_customers = row[7].as<std::int64_t>();
      arm.purchases = row[8].as<std::int64_t>();
      arm.returns = row[9].as<std::int64_t>();
      arm.revenue = row[10].as<double>();
      arm.satisfaction_sum = row[11].as<std::int64_t>();
      arm.satisfaction_count = row[12].as<std::int64_t>();
      arm.revenue_squares = row[13].as<double>();
      auto& [a, b] = arms[test];
      (arm.variant == row[2].c_str() ? a : b) = arm;
      a.variant = row[2].c_str();
      b.variant = row[3].c_str();
      shares[test] = row[4].is_null() ? 0.5 : row[4].as<double>();
    }
    for (const auto& [test, pair] : arms) {
      expected[test] =
          AnalyzeAbTest(test, pair.first, pair.second, config_, evidence[test], shares[test]);
    }
    ASSERT_EQ(collector.results().size(), expected.size()) << where;
    for (const AbResult& got : collector.results()) {
      SCOPED_TRACE(where + " test " + got.test);
      ASSERT_TRUE(expected.contains(got.test));
      const AbResult& want = expected[got.test];
      for (const auto& [g, w] : {std::pair{&got.a, &want.a}, std::pair{&got.b, &want.b}}) {
        EXPECT_EQ(g->variant, w->variant);
        EXPECT_EQ(g->customers, w->customers) << g->variant;
        EXPECT_EQ(g->recommendations, w->recommendations) << g->variant;
        EXPECT_EQ(g->converted_customers, w->converted_customers) << g->variant;
        EXPECT_EQ(g->purchases, w->purchases) << g->variant;
        EXPECT_EQ(g->returns, w->returns) << g->variant;
        EXPECT_EQ(g->revenue, w->revenue) << g->variant;
        EXPECT_EQ(g->revenue_squares, w->revenue_squares) << g->variant;
        EXPECT_EQ(g->satisfaction_sum, w->satisfaction_sum) << g->variant;
        EXPECT_EQ(g->satisfaction_count, w->satisfaction_count) << g->variant;
      }
      for (const auto& [g, w] : {std::pair{got.lift, want.lift},
                                 {got.lift_ci_low, want.lift_ci_low},
                                 {got.lift_ci_high, want.lift_ci_high},
                                 {got.p_value, want.p_value},
                                 {got.always_valid_p_value, want.always_valid_p_value},
                                 {got.msprt_tau, want.msprt_tau},
                                 {got.probability_b_beats_a, want.probability_b_beats_a},
                                 {got.srm_p_value, want.srm_p_value},
                                 {got.traffic_share_b, want.traffic_share_b},
                                 {got.revenue_se_a, want.revenue_se_a},
                                 {got.revenue_se_b, want.revenue_se_b},
                                 {got.revenue_p_value, want.revenue_p_value},
                                 {got.required_units_per_arm, want.required_units_per_arm}}) {
        EXPECT_TRUE(SameNumber(g, w)) << g << " != " << w;
      }
      EXPECT_EQ(got.sample_size_reached, want.sample_size_reached);
      EXPECT_EQ(got.winner, want.winner);
    }
  }

  void RunRandomizedRounds();

  static inline PgSandbox* sandbox_ = nullptr;
  StoreConfig store_;
  AbTestsConfig config_;
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::now();
  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
};

// $N replaced by values, highest N first so that $1 does not eat $12.
std::string Bind(std::string sql, const std::vector<std::string>& values) {
  for (std::size_t n = values.size(); n >= 1; --n) {
    const std::string placeholder = "$" + std::to_string(n);
    for (std::size_t at = sql.find(placeholder); at != std::string::npos;
         at = sql.find(placeholder)) {
      sql.replace(at, placeholder.size(), values[n - 1]);
    }
  }
  return sql;
}

// An open transaction that commits (or rolls back) in a later round.
struct LateWriter {
  explicit LateWriter(const std::string& dsn) : connection(dsn), txn(connection) {}
  pqxx::connection connection;
  pqxx::work txn;
};

// Rounds of concurrent writers, late transactions that commit or roll back in random order, a
// test registered late, a restart, tests ending and coming back; after each round every value
// equals the oracle's, and nothing was left for the sweep to correct.
void AbIncrementalTest::RunRandomizedRounds() {
  std::minstd_rand random(20261201);
  {
    pqxx::connection connection(sandbox_->dsn());
    pqxx::work txn(connection);
    Write(txn, 400);
    txn.commit();
  }
  auto collector = NewCollector();
  CycleAndExpectOracle(*collector, "first count");
  std::vector<std::unique_ptr<LateWriter>> late;
  for (int round = 0; round < 8; ++round) {
    const std::string where = "round " + std::to_string(round);
    for (int i = 0; i < 2; ++i) {
      late.push_back(std::make_unique<LateWriter>(sandbox_->dsn()));
      Write(late.back()->txn, 15);
    }
    // Writers commit (one in five rolls back) while the collector runs its cycles.
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; ++w) {
      writers.emplace_back([&stop, w] {
        std::minstd_rand own(static_cast<unsigned>(w + 1));
        pqxx::connection connection(sandbox_->dsn());
        while (!stop) {
          pqxx::work txn(connection);
          Write(txn, 8);
          if (own() % 5 == 0) {
            txn.abort();
          } else {
            txn.commit();
          }
        }
      });
    }
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      ASSERT_TRUE(collector->Collect().status.ok()) << where << "\n" << log_output_.str();
    }
    stop = true;
    for (std::thread& writer : writers) writer.join();
    // The late transactions of earlier rounds end now, in random order; one in four rolls back.
    while (late.size() > 2) {
      const std::size_t pick = random() % (late.size() - 2);
      if (random() % 4 == 0) {
        late[pick]->txn.abort();
      } else {
        late[pick]->txn.commit();
      }
      late.erase(late.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    if (round == 2) {  // a test registered after its first recommendations
      Exec(
          "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at, status) "
          "VALUES ('t3', 'B', 'trt', now(), 'RUNNING')");
    }
    if (round == 4) collector = NewCollector();  // a restart with transactions in flight
    if (round == 5) {  // one test ends (still exported), an old one comes back into the window
      Exec("UPDATE ab_tests SET status = 'ENDED', ends_at = now() WHERE test_id = 't2'");
      Exec("UPDATE ab_tests SET ends_at = now() WHERE test_id = 'old'");
    }
    CycleAndExpectOracle(*collector, where);
  }
  for (auto& writer : late) writer->txn.commit();
  CycleAndExpectOracle(*collector, "all committed");
  EXPECT_EQ(log_output_.str().find("A/B sweep found rows"), std::string::npos) << log_output_.str();
}

TEST_F(AbIncrementalTest, EveryValueEqualsTheFullWindowUnderWritersLateCommitsAndRestarts) {
  RunRandomizedRounds();
  EXPECT_EQ(log_output_.str().find("customers are evicted"), std::string::npos);
}

// With room for fewer customers than the tests have, customers are evicted and read back by
// index when they return: the values stay those of the full window.
TEST_F(AbIncrementalTest, PastTheCustomerCapEvictedCustomersAreReadBackExactly) {
  config_.max_tracked_customers = 40;  // of about 4 arms x 150 customers
  RunRandomizedRounds();
  EXPECT_NE(log_output_.str().find("customers are evicted"), std::string::npos)
      << log_output_.str();
}

// The names of the statements a session ran, recorded around a real PostgreSQL session.
class RecordingSession : public StoreSession {
 public:
  RecordingSession(std::unique_ptr<StoreSession> inner, std::vector<std::string>& names)
      : inner_(std::move(inner)), names_(names) {}
  bool connected() const override { return inner_->connected(); }
  Status Connect() override { return inner_->Connect(); }
  void Disconnect() override { inner_->Disconnect(); }
  Status InSnapshot(const std::function<Status(SnapshotReader&)>& body) override {
    return inner_->InSnapshot([&](SnapshotReader& reader) {
      Recorder recorder(reader, names_);
      return body(recorder);
    });
  }
  void Cancel() override { inner_->Cancel(); }
  std::vector<std::pair<std::string, double>> QueryDurations() const override {
    return inner_->QueryDurations();
  }

 private:
  class Recorder : public SnapshotReader {
   public:
    Recorder(SnapshotReader& inner, std::vector<std::string>& names)
        : inner_(inner), names_(names) {}
    Result<std::vector<Row>> Query(const std::string& name, const std::string& sql,
                                   const std::vector<std::string>& params) override {
      names_.push_back(name);
      return inner_.Query(name, sql, params);
    }

   private:
    SnapshotReader& inner_;
    std::vector<std::string>& names_;
  };

  std::unique_ptr<StoreSession> inner_;
  std::vector<std::string>& names_;
};

// The sweep's tests: a transaction that stays open longer than store.late_commit_window (1m)
// writes a recommendation of t1/A for a new customer with a 50.00 purchase; rows committed
// after it leave its ids missing, and a cycle past the window leaves them to the sweep.
class AbSweepTest : public AbIncrementalTest {
 protected:
  void SetUp() override {
    AbIncrementalTest::SetUp();
    store_.late_commit_window = std::chrono::minutes(1);
    store_.reconcile_interval = std::chrono::minutes(5);
  }

  std::unique_ptr<AbTestsCollector> NewRecordingCollector() {
    return std::make_unique<AbTestsCollector>(
        store_, config_,
        StoreCollectorDeps{log_,
                           [this](const SessionOptions& options) {
                             return std::make_unique<RecordingSession>(MakePgSession(options),
                                                                       statements_);
                           },
                           [this] { return now_; }});
  }

  // The first count, the slow transaction's rows, the rows after them, and a cycle past the
  // window; with `rolled_back_first`, a rolled-back write and a committed one come first, so
  // that a missing range of lower ids precedes the slow transaction's.
  void StartSlowTransaction(AbTestsCollector& collector, bool rolled_back_first = false) {
    {
      pqxx::connection connection(sandbox_->dsn());
      pqxx::work txn(connection);
      Write(txn, 200);
      txn.commit();
    }
    CycleAndExpectOracle(collector, "first count");
    if (rolled_back_first) {
      pqxx::connection connection(sandbox_->dsn());
      {
        pqxx::work txn(connection);
        Write(txn, 5);
        txn.abort();
      }
      pqxx::work txn(connection);
      Write(txn, 5);
      txn.commit();
    }
    slow_ = std::make_unique<LateWriter>(sandbox_->dsn());
    slow_->txn.exec(
        "WITH r AS (INSERT INTO recommendations (customer_id, product_id, model_version, "
        "ab_test_id, variant, score, price) VALUES ('slow', 'p', 'v1', 't1', 'A', 0.5, 50) "
        "RETURNING id) INSERT INTO outcome_events (recommendation_id, status, revenue) "
        "SELECT id, 'PURCHASED', 50 FROM r");
    {
      pqxx::connection connection(sandbox_->dsn());
      pqxx::work txn(connection);
      Write(txn, 20);  // ids past the slow transaction's: they leave a gap
      txn.commit();
    }
    now_ += std::chrono::seconds(1);
    CycleAndExpectOracle(collector, "gap seen");
    now_ += std::chrono::minutes(2);
    CycleAndExpectOracle(collector, "gap left to the sweep");
  }

  std::vector<std::string> statements_;
  std::unique_ptr<LateWriter> slow_;
};

// The commit after the window is found by the next sweep batch and counted exactly once, with
// its customer: the aggregates equal the full window's, the log says by how much, and no
// statement after the first count read a whole test.
TEST_F(AbSweepTest, TheSweepCountsACommitPastTheWindowWithoutAFullWindowStatement) {
  auto collector = NewRecordingCollector();
  StartSlowTransaction(*collector);
  slow_->txn.commit();
  now_ += std::chrono::minutes(1);
  CycleAndExpectOracle(*collector, "swept");
  now_ += std::chrono::minutes(1);
  CycleAndExpectOracle(*collector, "after the sweep found it");
  const std::string log = log_output_.str();
  EXPECT_NE(log.find("the A/B sweep found rows committed after store.late_commit_window"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("ab_test=t1 variant=A customers=1 converted_customers=1 recommendations=1 "
                     "purchases=1 returns=0 revenue_cents=5000 revenue_squares_cents=25000000"),
            std::string::npos)
      << log;
  EXPECT_EQ(std::count(statements_.begin(), statements_.end(), "ab_tests_baseline"), 1);
  // Once found, nothing is left to sweep.
  EXPECT_EQ(
      std::count(statements_.begin(), statements_.end(), "ab_tests_recommendations_sweep_ids"), 1);
}

// A late commit the sweep has not reached yet (a rolled-back range comes first, one range per
// cycle) is not taken for a counted row: a new purchase of the late recommendation counts it
// with its customer, and the sweep then adds the late purchase's revenue, not a second one.
TEST_F(AbSweepTest, NewRowsTouchingACommitTheSweepHasNotReachedAreCountedExactly) {
  store_.reconcile_interval = std::chrono::hours(1);
  store_.sweep_ranges_per_cycle = 1;
  auto collector = NewRecordingCollector();
  StartSlowTransaction(*collector, /*rolled_back_first=*/true);
  slow_->txn.commit();
  Exec(
      "INSERT INTO outcome_events (recommendation_id, status, revenue) "
      "SELECT id, 'PURCHASED', 20 FROM recommendations WHERE customer_id = 'slow'");
  // The late purchase is counted when the sweep reaches it, within its pass.
  for (int cycle = 0; cycle < 3; ++cycle) {
    now_ += std::chrono::minutes(1);
    ASSERT_TRUE(collector->Collect().status.ok()) << log_output_.str();
  }
  now_ += std::chrono::minutes(1);
  CycleAndExpectOracle(*collector, "swept");
  EXPECT_EQ(std::count(statements_.begin(), statements_.end(), "ab_tests_baseline"), 1);
}

// The start-up plan check EXPLAINs the steady-state statements (delta, history, the sweep's id
// reads of the three tables) once, and none of them reads a table whole.
TEST_F(AbSweepTest, TheStartUpPlanCheckCoversTheSteadyStateAndSweepStatements) {
  {
    pqxx::connection connection(sandbox_->dsn());
    pqxx::work txn(connection);
    for (int i = 0; i < 5; ++i) Write(txn, 2000);
    txn.exec("ANALYZE");
    txn.commit();
  }
  auto collector = NewRecordingCollector();
  ASSERT_TRUE(collector->Collect().status.ok()) << log_output_.str();
  ASSERT_TRUE(collector->Collect().status.ok()) << log_output_.str();
  // One statement turns sequential scans off, then one EXPLAIN per statement.
  EXPECT_EQ(std::count(statements_.begin(), statements_.end(), "plan_check"), 1 + 5);
  const std::string log = log_output_.str();
  EXPECT_EQ(log.find("reads a whole table"), std::string::npos) << log;
  EXPECT_EQ(log.find("could not check the plans"), std::string::npos) << log;
}

// The plan of `sql` with `values` bound, as text.
std::string Plan(pqxx::transaction_base& txn, const std::string& sql,
                 const std::vector<std::string>& values) {
  std::string plan;
  for (const auto& row : txn.exec("EXPLAIN " + Bind(sql, values))) {
    plan += std::string(row[0].c_str()) + "\n";
  }
  return plan;
}

// No whole table, and no whole test: the (ab_test_id, customer_id, id) index read for a test
// rather than one customer is a scan of the test too.
void ExpectNoWholeReads(const std::string& plan) {
  for (const char* table : {"recommendations", "outcome_events", "feedback"}) {
    EXPECT_EQ(plan.find(std::string("Seq Scan on ") + table), std::string::npos) << plan;
  }
  EXPECT_EQ(plan.find("Cond: ((ab_test_id = ANY"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Cond: (ab_test_id = ANY"), std::string::npos) << plan;
}

// The events of given recommendations are read by an index on recommendation_id: the plain
// one, or the partial one of purchases and returns.
bool ReadsEventsByRecommendation(const std::string& plan) {
  return plan.find("outcome_events_recommendation_id_idx") != std::string::npos ||
         plan.find("outcome_events_ab_purchases_idx") != std::string::npos;
}

// The steady-state statements read through indexes: the new rows by primary key and the
// earlier events of the touched recommendations (ab_tests_delta), and, for a customer the
// memory does not hold, its history by (ab_test_id, customer_id) (ab_tests_history). Their cost
// follows the new rows, not the size of a test.
TEST_F(AbIncrementalTest, SteadyStateStatementsReadThroughIndexes) {
  pqxx::connection connection(sandbox_->dsn());
  {
    pqxx::work txn(connection);
    for (int i = 0; i < 20; ++i) Write(txn, 2000);
    txn.exec("ANALYZE");
    txn.commit();
  }
  pqxx::nontransaction txn(connection);
  std::vector<std::string> values = {"'{\"t1\",\"t2\"}'", "'{\"A\",\"ctl\"}'", "'{\"B\",\"trt\"}'"};
  for (const char* table : {"recommendations", "outcome_events", "feedback"}) {
    const auto top = txn.exec(std::string("SELECT max(id) FROM ") + table)[0][0].as<std::int64_t>();
    values.push_back(std::to_string(top - 50));
    values.push_back(std::to_string(top));
    values.push_back("'{" + std::to_string(top - 100) + "," + std::to_string(top - 90) + "}'");
  }
  // Missing ranges of recommendations and events below the watermarks, as firsts and lasts.
  for (int table = 0; table < 2; ++table) {
    values.push_back("'{" + std::to_string(10 + table) + ",500}'");
    values.push_back("'{" + std::to_string(20 + table) + ",510}'");
  }
  const std::string delta = Plan(txn, ab_sql::Delta(), values);
  for (const char* index : {"recommendations_pkey", "outcome_events_pkey", "feedback_pkey"}) {
    EXPECT_NE(delta.find(index), std::string::npos) << index << "\n" << delta;
  }
  EXPECT_TRUE(ReadsEventsByRecommendation(delta)) << delta;
  ExpectNoWholeReads(delta);
  const std::string history =
      Plan(txn, ab_sql::History(),
           {"'{\"t1\",\"t2\"}'", "'{\"A\",\"trt\"}'", "'{\"c1\",\"c2\"}'", values[3], values[5],
            values[6], values[8], values[12], values[13], values[14], values[15]});
  EXPECT_NE(history.find("recommendations_ab_test_id_customer_id_idx"), std::string::npos)
      << history;
  EXPECT_TRUE(ReadsEventsByRecommendation(history)) << history;
  ExpectNoWholeReads(history);
}

}  // namespace
}  // namespace outcomes
