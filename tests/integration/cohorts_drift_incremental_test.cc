// The incremental cohorts and drift collectors against their full-window SQL (the oracle), on
// a real PostgreSQL with randomized data, transactions that commit late or roll back, restarts
// of the sidecar and of the store. Cohorts must equal the oracle exactly; drift must have the
// oracle's sample sizes and stay within the stated bounds of its bins, cuts and PSI.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <thread>

#include "exporter/analytics/stats.h"
#include "exporter/collectors/cohorts.h"
#include "exporter/collectors/drift.h"
#include "pg_sandbox.h"
#include "tests/support/forwarding_session.h"

namespace outcomes {
namespace {

using testing_support::MicrosAgo;
using testing_support::PgSandbox;

PgSandbox* sandbox = nullptr;

class IncrementalEnvironment : public testing::Environment {
 public:
  void SetUp() override { sandbox = new PgSandbox(); }
  void TearDown() override { delete sandbox; }
};
const auto* const kEnvironment = testing::AddGlobalTestEnvironment(new IncrementalEnvironment);

constexpr const char* kStatuses[] = {"PENDING",   "ACCEPTED",      "REJECTED",
                                     "PURCHASED", "NOT_PURCHASED", "RETURNED"};

// Random rows written through one transaction, with created_at up to `spread` before now()
// (some exactly on a minute or hour boundary, where the in-memory buckets meet). No row is
// written within `band` of reaching an age in `edges` (the windows' edges), so that rows do
// not cross an edge while a test compares the collector with the oracle; the band is kept
// short next to the cohort's minutes, so that the minutes at its edges still hold rows.
class Writer {
 public:
  Writer(std::mt19937& random, std::chrono::seconds spread, std::vector<std::int64_t> edges,
         std::int64_t band)
      : random_(random), spread_(spread), edges_(std::move(edges)), band_(band) {}

  void Recommendations(pqxx::work& txn, int count, double score_shift = 0) {
    std::uniform_int_distribution<std::int64_t> age(0, spread_.count());
    std::uniform_int_distribution<int> version(0, 2);
    std::uniform_int_distribution<int> boundary(0, 9);
    std::ostringstream sql;
    sql << "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
           "created_at) VALUES ";
    for (int i = 0; i < count; ++i) {
      std::gamma_distribution<double> a(2.0);
      std::gamma_distribution<double> b(5.0);
      const double x = a(random_);
      const double score = std::clamp(x / (x + b(random_)) + score_shift, 0.0, 1.0);
      const std::string created = "now() - interval '" + std::to_string(age(random_)) + " s'";
      const int on_boundary = boundary(random_);
      std::string at = on_boundary == 0   ? "date_trunc('minute', " + created + ")"
                       : on_boundary == 1 ? "date_trunc('hour', " + created + ")"
                                          : created;
      for (const std::int64_t edge : edges_) {
        at = "(SELECT CASE WHEN t > now() - interval '" + std::to_string(edge) +
             " s' AND t <= now() - interval '" + std::to_string(edge - band_) +
             " s' THEN t - interval '" + std::to_string(band_ + 10) +
             " s' ELSE t END FROM (SELECT " + at + " AS t) s)";
      }
      sql << (i > 0 ? ", " : "") << "('c', 'p', 'v" << version(random_) << "', " << score << ", 1, "
          << at << ")";
    }
    txn.exec(sql.str());
  }

  // `count` events on random recommendations this transaction can see.
  void Events(pqxx::work& txn, int count) {
    const pqxx::result ids = txn.exec("SELECT id FROM recommendations");
    if (ids.empty()) return;
    std::uniform_int_distribution<std::size_t> pick(0, ids.size() - 1);
    std::uniform_int_distribution<std::size_t> status(0, 5);
    std::ostringstream sql;
    sql << "INSERT INTO outcome_events (recommendation_id, status) VALUES ";
    for (int i = 0; i < count; ++i) {
      sql << (i > 0 ? ", " : "") << "(" << ids[pick(random_)][0].c_str() << ", '"
          << kStatuses[status(random_)] << "')";
    }
    txn.exec(sql.str());
  }

 private:
  std::mt19937& random_;
  std::chrono::seconds spread_;
  std::vector<std::int64_t> edges_;
  std::int64_t band_;
};

void Exec(const std::string& sql) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  txn.exec(sql);
  txn.commit();
}

class CohortsDriftIncrementalTest : public testing::Test {
 protected:
  void SetUp() override { sandbox->Reset(); }
  StoreConfig Store(Duration reconcile_interval = std::chrono::hours(24),
                    Duration late_commit_window = std::chrono::minutes(10)) {
    StoreConfig store;
    store.dsn = sandbox->dsn();
    store.reconcile_interval = reconcile_interval;
    store.late_commit_window = late_commit_window;
    return store;
  }
  StoreCollectorDeps Deps() {
    return StoreCollectorDeps{log_,
                              [](const SessionOptions& options) { return MakePgSession(options); }};
  }
  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
};

using CohortCountsByVersion = std::map<std::string, std::vector<std::int64_t>>;

CohortsConfig ShortCohorts() {
  CohortsConfig config;
  config.lag = std::chrono::minutes(10);
  config.window = std::chrono::minutes(30);
  return config;
}

CohortCountsByVersion OracleCohorts(const CohortsConfig& config) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  const auto seconds = [](Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " seconds";
  };
  CohortCountsByVersion out;
  for (const auto& row : txn.exec_params(CohortsCollector::OracleSql(), seconds(config.lag),
                                         seconds(config.window))) {
    std::vector<std::int64_t>& counts = out[row[0].c_str()];
    for (int i = 1; i <= 6; ++i) counts.push_back(row[i].as<std::int64_t>());
  }
  return out;
}

CohortCountsByVersion Incremental(const CohortsCollector& collector) {
  CohortCountsByVersion out;
  for (const Cohort& c : collector.cohorts()) {
    out[c.model_version] = {c.recommendations, c.accepted, c.rejected,
                            c.purchased,       c.returned, c.pending};
  }
  return out;
}

// Collects once; returns the oracle when it is the same just before and just after (no row
// crossed a window edge meanwhile), so that it is the answer of the collector's snapshot too.
std::optional<CohortCountsByVersion> CollectWithOracle(CohortsCollector& collector,
                                                       const CohortsConfig& config) {
  const CohortCountsByVersion before = OracleCohorts(config);
  const CollectOutput output = collector.Collect();
  EXPECT_TRUE(output.status.ok()) << output.status.message();
  const CohortCountsByVersion after = OracleCohorts(config);
  if (before != after) return std::nullopt;
  return before;
}

// Collects once and checks the collector against the oracle; returns whether it could.
bool CollectAndCompare(CohortsCollector& collector, const CohortsConfig& config) {
  const std::optional<CohortCountsByVersion> oracle = CollectWithOracle(collector, config);
  if (!oracle) return false;
  EXPECT_EQ(Incremental(collector), *oracle);
  return true;
}

TEST_F(CohortsDriftIncrementalTest, CohortsEqualTheFullQueryUnderLateCommitsAndRestarts) {
  std::mt19937 random(20261201);
  Writer writer(random, std::chrono::minutes(50), {600, 2400}, 20);
  const CohortsConfig config = ShortCohorts();
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    writer.Recommendations(txn, 1500);
    writer.Events(txn, 3000);
    txn.commit();
  }
  auto collector = std::make_unique<CohortsCollector>(Store(), config, 0, Deps());
  int compared = 0;
  compared += CollectAndCompare(*collector, config);
  auto late_connection = std::make_unique<pqxx::connection>(sandbox->dsn());
  for (int round = 0; round < 12; ++round) {
    // A transaction that takes ids now and commits after the next cycle, one that rolls back,
    // and rows committed in between.
    auto late = std::make_unique<pqxx::work>(*late_connection);
    writer.Recommendations(*late, 40);
    writer.Events(*late, 80);
    {
      pqxx::connection connection(sandbox->dsn());
      pqxx::work rolled_back(connection);
      writer.Recommendations(rolled_back, 10);
      writer.Events(rolled_back, 10);
      rolled_back.abort();
      pqxx::work txn(connection);
      writer.Recommendations(txn, 100);
      writer.Events(txn, 250);
      txn.commit();
    }
    compared += CollectAndCompare(*collector, config);
    late->commit();
    late.reset();
    if (round == 4) collector = std::make_unique<CohortsCollector>(Store(), config, 0, Deps());
    if (round == 8) {
      late_connection.reset();
      sandbox->Stop();
      sandbox->Start();
      late_connection = std::make_unique<pqxx::connection>(sandbox->dsn());
    }
    compared += CollectAndCompare(*collector, config);
  }
  EXPECT_GE(compared, 23) << "too few cycles without a row crossing a window edge";
}

// A transaction open longer than store.late_commit_window commits: its ids left the gap
// re-check for the sweep, which finds them in the next cycle. late_commit_window 0 releases a
// gap at the cycle after the one that saw it, whatever the timing; reconcile_interval 1 hour
// keeps any periodic rebuild out of the test.
TEST_F(CohortsDriftIncrementalTest, CohortLateCommitPastTheWindowIsCorrectedByTheSweep) {
  std::mt19937 random(7);
  Writer writer(random, std::chrono::minutes(50), {600, 2400}, 20);
  const CohortsConfig config = ShortCohorts();
  CohortsCollector collector(Store(std::chrono::hours(1), Duration::zero()), config, 0, Deps());
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    writer.Recommendations(txn, 500);
    writer.Events(txn, 800);
    txn.commit();
  }
  ASSERT_TRUE(collector.Collect().status.ok());
  pqxx::connection late_connection(sandbox->dsn());
  pqxx::work late(late_connection);
  late.exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) SELECT 'c', 'p', 'v0', 0.5, 1, now() - interval '20 minutes' "
      "FROM generate_series(1, 25)");
  late.exec(
      "INSERT INTO outcome_events (recommendation_id, status) SELECT id, 'PURCHASED' "
      "FROM recommendations ORDER BY id LIMIT 40");
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    writer.Recommendations(txn, 50);
    writer.Events(txn, 50);
    txn.commit();
  }
  ASSERT_TRUE(collector.Collect().status.ok());  // the late ids become gaps
  ASSERT_TRUE(collector.Collect().status.ok());  // released to the sweep after this cycle
  late.commit();
  int compared = 0;
  for (int i = 0; i < 3 && compared == 0; ++i) compared += CollectAndCompare(collector, config);
  EXPECT_EQ(compared, 1);
  EXPECT_NE(log_output_.str().find("the sweep found rows"), std::string::npos) << log_output_.str();
}

struct DriftOracle {
  std::vector<std::int64_t> reference;
  std::vector<std::int64_t> current;
  std::vector<double> cuts;      // percentile_cont(k / bins)
  std::vector<double> cut_gaps;  // the gap between the two scores each cut interpolates
  bool operator==(const DriftOracle& other) const {
    return reference == other.reference && current == other.current;
  }
};

DriftConfig ShortDrift() {
  DriftConfig config;
  config.reference_window = std::chrono::hours(3);
  config.current_window = std::chrono::hours(1);
  return config;
}

std::map<std::string, DriftOracle> OracleDrift(const DriftConfig& config) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  const auto seconds = [](Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " seconds";
  };
  const std::string reference = seconds(config.reference_window);
  const std::string current = seconds(config.current_window);
  const auto bins = static_cast<std::size_t>(config.bins);
  std::map<std::string, DriftOracle> out;
  for (const auto& row :
       txn.exec_params(DriftCollector::BinsSql(config.bins), reference, current)) {
    DriftOracle& oracle = out[row[0].c_str()];
    oracle.reference.resize(bins, 0);
    oracle.current.resize(bins, 0);
    const auto bin = std::min(row[2].as<std::size_t>(), bins - 1);
    (std::string(row[1].c_str()) == "reference" ? oracle.reference : oracle.current)[bin] +=
        row[3].as<std::int64_t>();
  }
  // The exact cuts from the sorted reference scores, as percentile_cont computes them.
  std::map<std::string, std::vector<double>> scores;
  for (const auto& row : txn.exec_params(
           "SELECT model_version, score FROM recommendations WHERE created_at >= now() - "
           "($1::interval + $2::interval) AND created_at < now() - $2::interval ORDER BY 1, 2",
           reference, current)) {
    scores[row[0].c_str()].push_back(row[1].as<double>());
  }
  for (auto& [version, sorted] : scores) {
    DriftOracle& oracle = out[version];
    for (std::size_t k = 1; k < bins; ++k) {
      const double rank = static_cast<double>(k) / static_cast<double>(bins) *
                          static_cast<double>(sorted.size() - 1);
      const auto low = static_cast<std::size_t>(std::floor(rank));
      const auto high = static_cast<std::size_t>(std::ceil(rank));
      oracle.cuts.push_back(sorted[low] +
                            (rank - static_cast<double>(low)) * (sorted[high] - sorted[low]));
      oracle.cut_gaps.push_back(sorted[high] - sorted[low]);
    }
  }
  return out;
}

// Checks one cycle's drift against the oracle; returns whether it could (see CollectWithOracle).
bool CollectAndCheckDrift(DriftCollector& collector, const DriftConfig& config,
                          double& worst_psi_error, double& worst_bound) {
  const auto before = OracleDrift(config);
  const CollectOutput output = collector.Collect();
  EXPECT_TRUE(output.status.ok()) << output.status.message();
  if (OracleDrift(config) != before) return false;
  EXPECT_EQ(collector.results().size(), before.size());
  for (const DriftResult& result : collector.results()) {
    SCOPED_TRACE(result.model_version);
    const DriftOracle& exact = before.at(result.model_version);
    const auto sum = [](const std::vector<std::int64_t>& v) {
      return std::accumulate(v.begin(), v.end(), std::int64_t{0});
    };
    EXPECT_EQ(sum(result.reference), sum(exact.reference));
    EXPECT_EQ(sum(result.current), sum(exact.current));
    for (std::size_t i = 0; i < result.reference.size(); ++i) {
      // A bin differs from the exact one by at most the scores of the fine bins at its cuts.
      std::int64_t reference_slack = 0;
      std::int64_t current_slack = 0;
      for (std::size_t k : {i - 1, i}) {
        if (k >= result.cuts.size()) continue;
        reference_slack += result.reference_at_cut[k];
        current_slack += result.current_at_cut[k];
      }
      EXPECT_LE(std::abs(result.reference[i] - exact.reference[i]), reference_slack) << i;
      EXPECT_LE(std::abs(result.current[i] - exact.current[i]), current_slack) << i;
    }
    for (std::size_t k = 0; k < result.cuts.size(); ++k) {
      EXPECT_LE(std::abs(result.cuts[k] - exact.cuts[k]),
                1.0 / static_cast<double>(kFineBins) + exact.cut_gaps[k] + 1e-12)
          << k;
    }
    const double exact_psi = stats::PopulationStabilityIndex(exact.reference, exact.current);
    EXPECT_LE(std::abs(result.psi - exact_psi), result.psi_error_bound);
    worst_psi_error = std::max(worst_psi_error, std::abs(result.psi - exact_psi));
    worst_bound = std::max(worst_bound, result.psi_error_bound);
  }
  return true;
}

TEST_F(CohortsDriftIncrementalTest, DriftStaysWithinItsBoundsUnderLateCommitsAndRestarts) {
  std::mt19937 random(424242);
  Writer everywhere(random, std::chrono::hours(5), {3600, 14400}, 120);
  Writer recent(random, std::chrono::hours(1), {3600, 14400}, 120);
  const DriftConfig config = ShortDrift();
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    everywhere.Recommendations(txn, 6000);
    recent.Recommendations(txn, 1000, 0.05);
    txn.commit();
  }
  auto collector = std::make_unique<DriftCollector>(Store(), config, Deps());
  double worst_psi_error = 0;
  double worst_bound = 0;
  int compared = CollectAndCheckDrift(*collector, config, worst_psi_error, worst_bound);
  pqxx::connection late_connection(sandbox->dsn());
  for (int round = 0; round < 6; ++round) {
    pqxx::work late(late_connection);
    everywhere.Recommendations(late, 200);
    {
      pqxx::connection connection(sandbox->dsn());
      pqxx::work txn(connection);
      everywhere.Recommendations(txn, 300);
      recent.Recommendations(txn, 100, 0.05);
      txn.commit();
    }
    compared += CollectAndCheckDrift(*collector, config, worst_psi_error, worst_bound);
    late.commit();
    if (round == 2) collector = std::make_unique<DriftCollector>(Store(), config, Deps());
    compared += CollectAndCheckDrift(*collector, config, worst_psi_error, worst_bound);
  }
  EXPECT_GE(compared, 12);
  std::cout << "drift: worst |PSI - exact PSI| " << worst_psi_error << ", worst bound "
            << worst_bound << "\n";
}

// Each steady-state statement, with the parameters of a cycle, planned on a store of some
// size: none of them reads a table or a window whole.
TEST_F(CohortsDriftIncrementalTest, SteadyStateStatementsScanNoTableOrWindow) {
  Exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) SELECT 'c', 'p', 'v' || (g % 3), (g % 1000) / 1000.0, 1, "
      "now() - (g % 1000000) * interval '1 second' FROM generate_series(1, 60000) g");
  Exec(
      "INSERT INTO outcome_events (recommendation_id, status) "
      "SELECT 1 + (g * 7919) % 60000, (ARRAY['PENDING','ACCEPTED','PURCHASED'])[1 + g % 3] "
      "FROM generate_series(1, 120000) g");
  Exec("ANALYZE");
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  const std::string minute = "floor(extract(epoch FROM now() - interval '10 days') / 60)::bigint";
  const std::map<std::string, std::pair<std::string, std::string>> statements = {
      {"cohorts_delta",
       {CohortsCollector::DeltaSql(), "59900, 60000, '{17,42}', 119800, 120000, '{5}', " + minute}},
      {"cohorts_edges",
       {CohortsCollector::EdgesSql(), "'3 days', '7 days', " + minute +
                                          ", floor(extract(epoch FROM now() - interval '3 days') "
                                          "/ 60)::bigint"}},
      {"drift_delta",
       {DriftCollector::DeltaSql(),
        "59900, 60000, '{17,42}', " + MicrosAgo("8 days") + ", " + MicrosAgo("1 day")}},
      {"drift_edges",
       {DriftCollector::EdgesSql(), MicrosAgo("8 days 5 minutes") + ", " + MicrosAgo("8 days") +
                                        ", " + MicrosAgo("1 day 5 minutes") + ", " +
                                        MicrosAgo("1 day") + ", 59900, '{17}', '{42}'"}},
  };
  for (const auto& [name, statement] : statements) {
    txn.exec("PREPARE " + name + " AS " + statement.first);
    std::string plan;
    for (const auto& row : txn.exec("EXPLAIN EXECUTE " + name + "(" + statement.second + ")")) {
      plan += std::string(row[0].c_str()) + "\n";
    }
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << name << "\n" << plan;
    // The new rows through the primary key, the edges through the created_at index.
    const bool delta = name.find("delta") != std::string::npos;
    EXPECT_NE(plan.find(delta ? "recommendations_pkey" : "recommendations_created_at_idx"),
              std::string::npos)
        << name << "\n"
        << plan;
    std::cout << name << ":\n" << plan;
  }
}

TEST_F(CohortsDriftIncrementalTest, CohortsFollowAStoreThatWentBackBelowTheWatermark) {
  std::mt19937 random(99);
  Writer writer(random, std::chrono::minutes(50), {600, 2400}, 20);
  const CohortsConfig config = ShortCohorts();
  CohortsCollector collector(Store(), config, 0, Deps());
  const auto fill = [&writer](int recommendations, int events) {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    writer.Recommendations(txn, recommendations);
    writer.Events(txn, events);
    txn.commit();
  };
  fill(800, 1600);
  ASSERT_TRUE(CollectAndCompare(collector, config));
  // An older, smaller backup restored: the ids start over below the watermark.
  sandbox->Reset();
  fill(300, 500);
  int compared = 0;
  for (int i = 0; i < 3 && compared == 0; ++i) compared += CollectAndCompare(collector, config);
  EXPECT_EQ(compared, 1);
  EXPECT_NE(log_output_.str().find("a table went back below the ids read"), std::string::npos);
}

// As CohortLateCommitPastTheWindowIsCorrectedByTheSweep, for the score histograms.
TEST_F(CohortsDriftIncrementalTest, DriftLateCommitPastTheWindowIsCorrectedByTheSweep) {
  std::mt19937 random(11);
  Writer writer(random, std::chrono::minutes(200), {3600, 14400}, 120);
  const DriftConfig config = ShortDrift();
  DriftCollector collector(Store(std::chrono::hours(1), Duration::zero()), config, Deps());
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    writer.Recommendations(txn, 2000);
    txn.commit();
  }
  ASSERT_TRUE(collector.Collect().status.ok());
  pqxx::connection late_connection(sandbox->dsn());
  pqxx::work late(late_connection);
  late.exec(
      "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
      "created_at) SELECT 'c', 'p', 'v0', 0.9, 1, now() - interval '2 hours' "
      "FROM generate_series(1, 25)");
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    writer.Recommendations(txn, 50);
    txn.commit();
  }
  ASSERT_TRUE(collector.Collect().status.ok());  // the late ids become a gap
  ASSERT_TRUE(collector.Collect().status.ok());  // released to the sweep after this cycle
  late.commit();
  const auto reference_samples = [&collector]() {
    std::map<std::string, std::int64_t> out;
    for (const DriftResult& result : collector.results()) {
      out[result.model_version] =
          std::accumulate(result.reference.begin(), result.reference.end(), std::int64_t{0});
    }
    return out;
  };
  const auto oracle_samples = [&config]() {
    std::map<std::string, std::int64_t> out;
    for (const auto& [version, oracle] : OracleDrift(config)) {
      out[version] =
          std::accumulate(oracle.reference.begin(), oracle.reference.end(), std::int64_t{0});
    }
    return out;
  };
  // As CollectWithOracle: the oracle of the collector's snapshot, when no score crossed an edge.
  const auto collect_with_oracle = [&]() -> std::optional<std::map<std::string, std::int64_t>> {
    const auto before = oracle_samples();
    EXPECT_TRUE(collector.Collect().status.ok());
    if (oracle_samples() != before) return std::nullopt;
    return before;
  };
  std::optional<std::map<std::string, std::int64_t>> oracle;
  for (int i = 0; i < 3 && !oracle; ++i) oracle = collect_with_oracle();
  ASSERT_TRUE(oracle);
  EXPECT_EQ(reference_samples(), *oracle);
  EXPECT_NE(log_output_.str().find("the sweep found rows"), std::string::npos) << log_output_.str();
}

// A session that adds up the time its statements take: the DB time of a cycle, without the
// collector's own computing (the noise level simulation). With `names`, it also records the
// name of each statement run.
class TimedSession : public testing_support::ForwardingSession {
 public:
  TimedSession(std::unique_ptr<StoreSession> inner, double& seconds,
               std::vector<std::string>* names = nullptr)
      : ForwardingSession(std::move(inner)), seconds_(seconds), names_(names) {}
  Status InSnapshot(const std::function<Status(SnapshotReader&)>& body) override {
    return inner().InSnapshot([&](SnapshotReader& reader) {
      TimedReader timed(reader, seconds_, names_);
      return body(timed);
    });
  }

 private:
  class TimedReader : public SnapshotReader {
   public:
    TimedReader(SnapshotReader& inner, double& seconds, std::vector<std::string>* names)
        : inner_(inner), seconds_(seconds), names_(names) {}
    Result<std::vector<Row>> Query(const std::string& name, const std::string& sql,
                                   const std::vector<std::string>& params) override {
      if (names_) names_->push_back(name);
      const auto start = std::chrono::steady_clock::now();
      Result<std::vector<Row>> rows = inner_.Query(name, sql, params);
      seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return rows;
    }

   private:
    SnapshotReader& inner_;
    double& seconds_;
    std::vector<std::string>* names_;
  };
  double& seconds_;
  std::vector<std::string>* names_;
};

// After the first cycle, neither collector reads a window whole again: no baseline (nor
// rebuild) statement runs while rows arrive, commit late past store.late_commit_window and are
// swept. reconcile_interval 1 ms would make any rebuild every so many reconcile intervals
// due at each cycle.
TEST_F(CohortsDriftIncrementalTest, SteadyStateRunsNoFullWindowStatement) {
  std::mt19937 random(5);
  Writer writer(random, std::chrono::minutes(200), {600, 2400, 3600, 14400}, 20);
  const auto fill = [&writer](pqxx::work& txn) {
    writer.Recommendations(txn, 100);
    writer.Events(txn, 150);
  };
  {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    fill(txn);
    txn.commit();
  }
  double seconds = 0;
  std::vector<std::string> names;
  StoreCollectorDeps deps{log_, [&](const SessionOptions& options) {
                            return std::make_unique<TimedSession>(MakePgSession(options), seconds,
                                                                  &names);
                          }};
  const StoreConfig store = Store(std::chrono::milliseconds(1), Duration::zero());
  CohortsCollector cohorts(store, ShortCohorts(), 0, deps);
  DriftCollector drift(store, ShortDrift(), deps);
  const auto collect_both = [&]() {
    EXPECT_TRUE(cohorts.Collect().status.ok());
    EXPECT_TRUE(drift.Collect().status.ok());
  };
  collect_both();
  EXPECT_NE(std::find(names.begin(), names.end(), "cohorts_baseline"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "drift_baseline"), names.end());
  names.clear();
  pqxx::connection late_connection(sandbox->dsn());
  for (int cycle = 0; cycle < 4; ++cycle) {
    pqxx::work late(late_connection);
    fill(late);
    {
      pqxx::connection connection(sandbox->dsn());
      pqxx::work txn(connection);
      fill(txn);
      txn.commit();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(15));  // > 12 reconcile intervals
    collect_both();
    collect_both();
    late.commit();
  }
  collect_both();
  EXPECT_NE(std::find(names.begin(), names.end(), "cohorts_recommendations_sweep_ids"),
            names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "drift_recommendations_sweep_ids"), names.end());
  for (const std::string& name : names) {
    EXPECT_EQ(name.find("_baseline"), std::string::npos) << name;
    EXPECT_EQ(name.find("_rebuild"), std::string::npos) << name;
  }
}

// The collector's bins, at its own cuts, against the rows the store holds in its windows at its
// snapshot's now(): exact, whatever crossed an edge since.
void ExpectDriftAtItsSnapshot(const DriftCollector& collector, const DriftConfig& config) {
  ASSERT_TRUE(collector.windows_end());
  const auto micros = [](Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  };
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  std::map<std::string, std::array<std::vector<std::int64_t>, 2>> fine;  // reference, current
  for (const auto& row : txn.exec_params(
           "SELECT model_version, created_at >= e - $3::bigint * interval '1 microsecond', "
           "least(greatest(floor(score * 2000), 0), 1999)::int, count(*) FROM recommendations, "
           "(SELECT timestamptz 'epoch' + $1::bigint * interval '1 microsecond' AS e) t "
           "WHERE created_at >= e - $2::bigint * interval '1 microsecond' GROUP BY 1, 2, 3",
           std::to_string(*collector.windows_end()),
           micros(config.reference_window + config.current_window),
           micros(config.current_window))) {
    auto& both = fine[row[0].c_str()];
    std::vector<std::int64_t>& histogram = both[std::string(row[1].c_str()) == "t" ? 1 : 0];
    histogram.resize(kFineBins, 0);
    histogram[row[2].as<std::size_t>()] += row[3].as<std::int64_t>();
  }
  std::size_t compared = 0;
  for (const auto& [version, both] : fine) {
    if (both[0].empty() || both[1].empty()) continue;  // not compared by the collector either
    ++compared;
  }
  EXPECT_EQ(collector.results().size(), compared);
  for (const DriftResult& result : collector.results()) {
    SCOPED_TRACE(result.model_version);
    ASSERT_TRUE(fine.count(result.model_version));
    for (std::size_t window = 0; window < 2; ++window) {
      std::vector<std::int64_t> coarse(result.reference.size(), 0);
      const std::vector<std::int64_t>& histogram = fine.at(result.model_version)[window];
      for (std::size_t f = 0; f < histogram.size(); ++f) {
        std::size_t bin = 0;
        while (bin < result.cuts.size() &&
               std::llround(result.cuts[bin] * static_cast<double>(kFineBins)) <=
                   static_cast<std::int64_t>(f)) {
          ++bin;
        }
        coarse[bin] += histogram[f];
      }
      EXPECT_EQ(window == 0 ? result.reference : result.current, coarse) << window;
    }
  }
}

// Windows of seconds, so that rows cross both edges between cycles: the rows that left the
// reference window, moved from the current window to the reference one or committed late must
// be where the store has them at every cycle; so must they after an outage longer than half the
// windows (read whole then) and after a restart of the sidecar.
TEST_F(CohortsDriftIncrementalTest, DriftFollowsTheRowsThatCrossTheWindowsEdges) {
  DriftConfig config;
  config.bins = 4;
  config.reference_window = std::chrono::seconds(6);
  config.current_window = std::chrono::seconds(3);
  const auto rows = [](int from_seconds_ago, int to_seconds_ago, int salt) {
    return "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
           "created_at) SELECT 'c', 'p', 'v' || (g % 2), ((g * 7919 + " +
           std::to_string(salt) +
           ") % 1000) / 1000.0, 1, now() - (g / 3) * interval '1 second' "
           "FROM generate_series(" +
           std::to_string(to_seconds_ago * 3) + ", " + std::to_string(from_seconds_ago * 3 + 2) +
           ") g";
  };
  Exec(rows(14, 0, 1));
  double seconds = 0;
  std::vector<std::string> names;
  StoreCollectorDeps deps{log_, [&](const SessionOptions& options) {
                            return std::make_unique<TimedSession>(MakePgSession(options), seconds,
                                                                  &names);
                          }};
  auto collector = std::make_unique<DriftCollector>(Store(), config, deps);
  const auto collect_and_check = [&] {
    ASSERT_TRUE(collector->Collect().status.ok());
    ExpectDriftAtItsSnapshot(*collector, config);
  };
  collect_and_check();
  pqxx::connection late_connection(sandbox->dsn());
  for (int round = 0; round < 6; ++round) {
    // Late rows 8.4 s old, inside the reference window (9 s to 3 s ago): seen as a gap by the
    // next cycle, found by the one after, by when they have left the windows.
    pqxx::work late(late_connection);
    late.exec(
        "INSERT INTO recommendations (customer_id, product_id, model_version, score, price, "
        "created_at) SELECT 'c', 'p', 'v' || (g % 2), g / 10.0, 1, now() - interval '8.4 s' "
        "FROM generate_series(1, 9) g");
    Exec(rows(1, 0, 200 + round));
    collect_and_check();
    late.commit();
    std::this_thread::sleep_for(std::chrono::milliseconds(round == 2 ? 5000 : 1200));
    collect_and_check();
    if (round == 3) collector = std::make_unique<DriftCollector>(Store(), config, deps);
  }
  EXPECT_EQ(std::count(names.begin(), names.end(), "drift_rebuild"), 1);
  EXPECT_GE(std::count(names.begin(), names.end(), "drift_edges"), 8);
}

// Per-cycle DB time of the full-window SQL against the incremental collectors, on a store
// given by OUTCOMES_BENCH_DSN (for example one filled by tools/generator), with 1,000 new
// recommendations and 2,500 new events per cycle. Run with --gtest_also_run_disabled_tests.
TEST(CohortsDriftBench, DISABLED_CycleDatabaseTime) {
  const char* dsn = std::getenv("OUTCOMES_BENCH_DSN");
  ASSERT_NE(dsn, nullptr) << "set OUTCOMES_BENCH_DSN";
  StoreConfig store;
  store.dsn = dsn;
  std::ostringstream log_output;
  Logger log{log_output, LogLevel::kInfo, LogFormat::kLogfmt};
  double seconds = 0;
  StoreCollectorDeps deps{log, [&seconds](const SessionOptions& options) {
                            return std::make_unique<TimedSession>(MakePgSession(options), seconds);
                          }};
  const auto timed = [&seconds](BlockingCollector& collector) {
    seconds = 0;
    const CollectOutput output = collector.Collect();
    EXPECT_TRUE(output.status.ok()) << output.status.message();
    return seconds;
  };
  {
    pqxx::connection connection(dsn);
    pqxx::work txn(connection);
    for (const auto* sql :
         {"SELECT count(*) FROM outcome_events", "SELECT count(*) FROM recommendations"}) {
      std::cout << sql << ": " << txn.exec(sql)[0][0].c_str() << "\n";
    }
    for (int i = 0; i < 3; ++i) {
      const auto start = std::chrono::steady_clock::now();
      txn.exec_params(CohortsCollector::OracleSql(), "259200 seconds", "604800 seconds");
      const auto middle = std::chrono::steady_clock::now();
      txn.exec_params(DriftCollector::BinsSql(10), "604800 seconds", "86400 seconds");
      const auto end = std::chrono::steady_clock::now();
      std::cout << "full-window SQL: cohorts "
                << std::chrono::duration<double>(middle - start).count() << " s, drift "
                << std::chrono::duration<double>(end - middle).count() << " s\n";
    }
  }
  CohortsCollector cohorts(store, CohortsConfig{}, 0, deps);
  DriftCollector drift(store, DriftConfig{}, deps);
  std::cout << "first cycle (baseline): cohorts " << timed(cohorts) << " s, drift " << timed(drift)
            << " s\n";
  for (int cycle = 0; cycle < 5; ++cycle) {
    {
      pqxx::connection connection(dsn);
      pqxx::work txn(connection);
      txn.exec(
          "INSERT INTO recommendations (customer_id, product_id, model_version, score, price) "
          "SELECT 'c', 'p', 'v1.2.0', random(), 1 FROM generate_series(1, 1000)");
      txn.exec(
          "INSERT INTO outcome_events (recommendation_id, status) SELECT id, 'ACCEPTED' FROM "
          "recommendations WHERE id > (SELECT max(id) - 2500 FROM recommendations)");
      txn.commit();
    }
    std::cout << "steady cycle: cohorts " << timed(cohorts) << " s, drift " << timed(drift)
              << " s\n";
  }
}

}  // namespace
}  // namespace outcomes
