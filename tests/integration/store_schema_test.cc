// store.schema against a real PostgreSQL: a store whose every table, column, status, reason,
// feedback type and A/B status differs from the reference (another schema, names with spaces,
// capitals and quotes, values with an apostrophe and a backslash), holding the same rows as a
// reference store in real tables, must export exactly what the reference store exports, from
// the first count and after increments; and the mapped per-cycle statements must read the
// user's tables through their indexes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <pqxx/pqxx>
#include <sstream>
#include <string>

#include "exporter/collectors/ab_tests.h"
#include "exporter/collectors/cohorts.h"
#include "exporter/collectors/drift.h"
#include "exporter/collectors/store.h"
#include "exporter/config/config.h"
#include "store_test_support.h"

namespace outcomes {
namespace {

using testing_support::MicrosAgo;
using testing_support::PgSandbox;
using testing_support::Samples;
using testing_support::SamplesOf;
using testing_support::sandbox;

class SchemaEnvironment : public testing::Environment {
 public:
  void SetUp() override { sandbox = new PgSandbox(); }
  void TearDown() override { delete sandbox; }
};
const auto* const kEnvironment = testing::AddGlobalTestEnvironment(new SchemaEnvironment);

// The user's store: real tables with their own keys and indexes, as deploy/sql/schema.sql has
// for the reference.
constexpr const char* kUserSchemaSql = R"SQL(
CREATE SCHEMA "Shop Data";
CREATE TABLE "Shop Data".recs (
  rec_id bigint CONSTRAINT recs_pk PRIMARY KEY, customer text NOT NULL, item text NOT NULL,
  "Model Version" text NOT NULL, experiment text, arm text, prediction double precision NOT NULL,
  unit_price numeric(12,2) NOT NULL, served_at timestamptz NOT NULL);
CREATE TABLE "Shop Data"."outcome""log" (
  event_id bigint CONSTRAINT events_pk PRIMARY KEY,
  rec bigint NOT NULL REFERENCES "Shop Data".recs, state text NOT NULL, why text,
  amount numeric(12,2) NOT NULL, at_time timestamptz NOT NULL);
CREATE TABLE "Shop Data".ratings (
  rating_id bigint CONSTRAINT ratings_pk PRIMARY KEY,
  rec bigint NOT NULL REFERENCES "Shop Data".recs, kind text NOT NULL, stars smallint NOT NULL,
  note text, rated_at timestamptz NOT NULL);
CREATE TABLE "Shop Data".experiments (
  experiment text PRIMARY KEY, control_arm text NOT NULL, treatment_arm text NOT NULL,
  begins timestamptz NOT NULL, ends timestamptz, phase text NOT NULL,
  treatment_share double precision);
CREATE TABLE "Shop Data".ratings10 (LIKE "Shop Data".ratings INCLUDING ALL);
CREATE INDEX events_rec_idx ON "Shop Data"."outcome""log" (rec);
CREATE INDEX ratings_rec_idx ON "Shop Data".ratings (rec);
CREATE INDEX recs_model_served_idx ON "Shop Data".recs ("Model Version", served_at);
CREATE INDEX recs_served_idx ON "Shop Data".recs (served_at);
CREATE INDEX events_at_idx ON "Shop Data"."outcome""log" (at_time);
CREATE INDEX recs_experiment_idx ON "Shop Data".recs (experiment, customer, rec_id);
)SQL";

// The store's values: lower case, with an apostrophe in a status and a backslash in a reason.
std::string StoreValue(const std::string& reference) {
  if (reference == "PURCHASED") return "bought";
  if (reference == "RETURNED") return "sent 'back'";
  if (reference == "SATISFIED") return "ok\\happy";
  if (reference == "RUNNING") return "live";
  if (reference == "ENDED") return "over";
  std::string lower = reference;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// SQL turning a reference column's values into the store's.
std::string StoreValueSql(const std::string& column, const std::vector<std::string>& values) {
  std::string sql = "CASE " + column;
  for (const std::string& value : values) {
    std::string quoted;
    for (const char c : StoreValue(value)) {
      quoted += c == '\'' ? std::string("''") : std::string(1, c);
    }
    sql += " WHEN '" + value + "' THEN '" + quoted + "'";
  }
  return sql + " END";
}

// The reference rows with ids past the user's tables' tops, copied in the user's names.
void CopyNewRows(pqxx::work& txn) {
  txn.exec(
      "INSERT INTO \"Shop Data\".experiments SELECT test_id, variant_a, variant_b, started_at, "
      "ends_at, " +
      StoreValueSql("status", ReferenceAbTestStatuses()) +
      ", traffic_share_b FROM ab_tests ON CONFLICT DO NOTHING");
  txn.exec(
      "INSERT INTO \"Shop Data\".recs SELECT id, customer_id, product_id, model_version, "
      "ab_test_id, variant, score, price, created_at FROM recommendations "
      "WHERE id > (SELECT coalesce(max(rec_id), 0) FROM \"Shop Data\".recs)");
  txn.exec("INSERT INTO \"Shop Data\".\"outcome\"\"log\" SELECT id, recommendation_id, " +
           StoreValueSql("status", ReferenceStatuses()) + ", " +
           StoreValueSql("reason", ReferenceReasons()) +
           ", revenue, occurred_at FROM outcome_events "
           "WHERE id > (SELECT coalesce(max(event_id), 0) FROM \"Shop Data\".\"outcome\"\"log\")");
  txn.exec("INSERT INTO \"Shop Data\".ratings SELECT id, recommendation_id, " +
           StoreValueSql("feedback_type", ReferenceFeedbackTypes()) +
           ", score, comment, created_at FROM feedback "
           "WHERE id > (SELECT coalesce(max(rating_id), 0) FROM \"Shop Data\".ratings)");
  txn.exec(
      "INSERT INTO \"Shop Data\".ratings10 SELECT rating_id, rec, kind, stars * 2, note, rated_at "
      "FROM \"Shop Data\".ratings "
      "WHERE rating_id > (SELECT coalesce(max(rating_id), 0) FROM \"Shop Data\".ratings10)");
}

// `count` recommendations up to `hours` old, with 1 to 3 events each and feedback on about a
// third, plus events on older recommendations (outcomes arrive late). Ages are whole hours plus
// 10 to 50 minutes, so that no row crosses a window's edge (whole days from now) while the two
// stores are read a few seconds apart.
void InsertReferenceRows(pqxx::work& txn, int count, int hours) {
  txn.exec(
      "WITH r AS (INSERT INTO recommendations (customer_id, product_id, model_version, ab_test_id,"
      " variant, score, price, created_at) "
      "SELECT 'c' || floor(random() * 300)::int, 'p' || (g % 50), "
      "(ARRAY['v1', 'v2', 'v3'])[1 + floor(random() * 3)::int], t.ab, "
      "CASE WHEN t.ab = 't2' THEN (ARRAY['ctl', 'trt', 'trt'])[1 + floor(random() * 3)::int] "
      "WHEN t.ab IS NOT NULL THEN (ARRAY['A', 'B', 'C'])[1 + floor(random() * 3)::int] END, "
      "random(), round((5 + random() * 495)::numeric, 2), "
      "now() - floor(random() * " +
      std::to_string(hours) +
      ") * interval '1 hour' - (10 + random() * 40) * interval '1 minute' "
      "FROM generate_series(1, " +
      std::to_string(count) +
      ") g, LATERAL (SELECT (ARRAY['t1', 't2', 'old', NULL, NULL])[1 + floor(random() * 5 + g * 0)"
      "::int] AS ab) t RETURNING id, price, created_at), "
      "targets AS (SELECT id, price, created_at FROM r UNION ALL "
      "(SELECT id, price, created_at FROM recommendations ORDER BY random() LIMIT " +
      std::to_string(count / 4) +
      ")), "
      "e AS (INSERT INTO outcome_events (recommendation_id, status, reason, revenue, occurred_at) "
      "SELECT t.id, s.status, s.reason, CASE WHEN s.status IN ('PURCHASED', 'RETURNED') "
      "THEN t.price ELSE 0 END, t.created_at + s.k * interval '1 hour' FROM targets t, "
      "LATERAL (SELECT (ARRAY['PENDING', 'ACCEPTED', 'REJECTED', 'PURCHASED', 'NOT_PURCHASED', "
      "'RETURNED'])[1 + floor(random() * 6)::int + k * 0] AS status, (ARRAY[NULL, "
      "'PRICE_TOO_HIGH', 'SATISFIED', 'QUALITY_ISSUE'])[1 + floor(random() * 4)::int] AS reason, "
      "k FROM generate_series(1, 1 + (random() * 2)::int + (t.id * 0)::int) k) s RETURNING 1), "
      "f AS (INSERT INTO feedback (recommendation_id, feedback_type, score, created_at) "
      "SELECT id, (ARRAY['SATISFACTION', 'QUALITY', 'RELEVANCE', 'PRICE', 'DELIVERY', "
      "'CUSTOM'])[1 + floor(random() * 6)::int], 1 + floor(random() * 5)::int, created_at "
      "FROM r WHERE random() < 0.35 RETURNING 1) "
      "SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM f)");
}

// The YAML of the user's store, through the config loader as a user would write it.
std::string SchemaYaml() {
  std::string yaml =
      "store:\n"
      "  dsn: x\n"
      "  schema:\n"
      "    tables:\n"
      "      recommendations:\n"
      "        name: '\"Shop Data\".recs'\n"
      "        columns: {id: rec_id, customer_id: customer, product_id: item,\n"
      "                  model_version: '\"Model Version\"', ab_test_id: experiment,\n"
      "                  variant: arm, score: prediction, price: unit_price,\n"
      "                  created_at: served_at}\n"
      "      outcome_events:\n"
      "        name: '\"Shop Data\".\"outcome\"\"log\"'\n"
      "        columns: {id: event_id, recommendation_id: rec, status: state, reason: why,\n"
      "                  revenue: amount, occurred_at: at_time}\n"
      "      feedback:\n"
      "        name: '\"Shop Data\".ratings'\n"
      "        columns: {id: rating_id, recommendation_id: rec, feedback_type: kind,\n"
      "                  score: stars, comment: note, created_at: rated_at}\n"
      "      ab_tests:\n"
      "        name: '\"Shop Data\".experiments'\n"
      "        columns: {test_id: experiment, variant_a: control_arm, variant_b: treatment_arm,\n"
      "                  started_at: begins, ends_at: ends, status: phase,\n"
      "                  traffic_share_b: treatment_share}\n";
  const auto values = [&yaml](const std::string& key, const std::vector<std::string>& reference) {
    yaml += "    " + key + ":\n";
    for (const std::string& value : reference) {
      std::string quoted;
      for (const char c : StoreValue(value))
        quoted += c == '\'' ? std::string("''") : std::string(1, c);
      yaml += "      " + value + ": '" + quoted + "'\n";
    }
  };
  values("status_values", ReferenceStatuses());
  values("reason_values", ReferenceReasons());
  values("feedback_type_values", ReferenceFeedbackTypes());
  values("ab_test_status_values", ReferenceAbTestStatuses());
  return yaml;
}

// What a collector exports, by family, without what depends on the time of the read.
std::map<std::string, Samples> Exported(const CollectOutput& output) {
  std::map<std::string, Samples> exported;
  for (const auto& family : output.families) {
    if (family.name.find("duration") != std::string::npos ||
        family.name == "outcomes_store_last_recount_timestamp_seconds") {
      continue;
    }
    exported[family.name] = SamplesOf(output.families, family.name);
  }
  return exported;
}

class StoreSchemaTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    pqxx::connection connection(sandbox->dsn());
    pqxx::work txn(connection);
    txn.exec(kUserSchemaSql);
    txn.exec(
        "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at, ends_at, status, "
        "traffic_share_b) VALUES ('t1', 'A', 'B', now() - interval '20 days', NULL, 'RUNNING', "
        "NULL), ('t2', 'ctl', 'trt', now() - interval '20 days', NULL, 'RUNNING', 0.4), "
        "('old', 'A', 'B', now() - interval '90 days', now() - interval '1 day', 'ENDED', NULL)");
    InsertReferenceRows(txn, 6000, 14 * 24);
    CopyNewRows(txn);
    txn.exec("ANALYZE");
    txn.commit();
  }

  void SetUp() override {
    reference_.dsn = sandbox->dsn();
    Result<Config> config = LoadConfigText(SchemaYaml(), "schema.yml", ProcessEnv());
    ASSERT_TRUE(config.ok()) << config.error();
    mapped_ = *config.value().store;
    // A search_path without the reference tables: a statement that named one would fail.
    mapped_.dsn = sandbox->dsn() + "?options=-csearch_path%3Dnowhere";
    ASSERT_NE(mapped_.schema, StoreSchema{});
  }

  StoreCollectorDeps Deps() {
    return StoreCollectorDeps{log_,
                              [](const SessionOptions& options) { return MakePgSession(options); }};
  }

  // Both collectors read their store and export the same; `family` must hold something.
  void ExpectSame(BlockingCollector& reference, BlockingCollector& mapped,
                  const std::string& family) {
    const CollectOutput expected = reference.Collect();
    const CollectOutput got = mapped.Collect();
    ASSERT_TRUE(expected.status.ok()) << expected.status.message();
    ASSERT_TRUE(got.status.ok()) << got.status.message();
    EXPECT_EQ(Exported(got), Exported(expected));
    EXPECT_FALSE(SamplesOf(expected.families, family).empty()) << family;
  }

  StoreConfig reference_;
  StoreConfig mapped_;
  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kDebug, LogFormat::kLogfmt};
};

// Adds rows to the reference store and the same rows to the user's.
void AddRows(int count) {
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  InsertReferenceRows(txn, count, 48);
  CopyNewRows(txn);
  txn.commit();
}

TEST_F(StoreSchemaTest, StoreCollectorExportsTheReferenceCounters) {
  StoreCollector reference(reference_, Deps());
  StoreCollector mapped(mapped_, Deps());
  ExpectSame(reference, mapped, "outcomes_events_total");
  AddRows(500);
  ExpectSame(reference, mapped, "outcomes_feedback_total");
  // The store's values come back as the reference ones, the shipped rules' labels.
  const CollectOutput output = mapped.Collect();
  const Samples events = SamplesOf(output.families, "outcomes_revenue_total");
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const auto& sample) {
    return sample.first.find("status=RETURNED,") != std::string::npos;
  }));
  const Samples reasons = SamplesOf(output.families, "outcomes_events_total");
  EXPECT_TRUE(std::any_of(reasons.begin(), reasons.end(), [](const auto& sample) {
    return sample.first.find("reason=SATISFIED,") != std::string::npos;
  }));
}

TEST_F(StoreSchemaTest, CohortsCollectorExportsTheReferenceCohorts) {
  CohortsCollector reference(reference_, CohortsConfig{}, 0.01, Deps());
  CohortsCollector mapped(mapped_, CohortsConfig{}, 0.01, Deps());
  ExpectSame(reference, mapped, "outcomes_cohort_purchase_ratio");
  AddRows(500);
  ExpectSame(reference, mapped, "outcomes_cohort_return_ratio");
}

TEST_F(StoreSchemaTest, DriftCollectorExportsTheReferencePsi) {
  DriftCollector reference(reference_, DriftConfig{}, Deps());
  DriftCollector mapped(mapped_, DriftConfig{}, Deps());
  ExpectSame(reference, mapped, "outcomes_prediction_psi");
  AddRows(500);
  ExpectSame(reference, mapped, "outcomes_prediction_psi_samples");
}

TEST_F(StoreSchemaTest, AbTestsCollectorExportsTheReferenceTests) {
  AbTestsCollector reference(reference_, AbTestsConfig{}, Deps());
  AbTestsCollector mapped(mapped_, AbTestsConfig{}, Deps());
  ExpectSame(reference, mapped, "outcomes_ab_traffic_share_ratio");
  AddRows(500);
  ExpectSame(reference, mapped, "outcomes_ab_customers");
}

// Scores on another scale, with the cut-offs moved to match: the same sentiments, every score
// sum doubled.
TEST_F(StoreSchemaTest, SentimentFollowsTheCutOffs) {
  StoreConfig scaled = mapped_;
  scaled.schema.tables.at("feedback").name = "ratings10";
  scaled.schema.positive_min = 8;
  scaled.schema.negative_max = 4;
  StoreCollector reference(reference_, Deps());
  StoreCollector mapped(scaled, Deps());
  const CollectOutput expected = reference.Collect();
  const CollectOutput got = mapped.Collect();
  ASSERT_TRUE(expected.status.ok()) << expected.status.message();
  ASSERT_TRUE(got.status.ok()) << got.status.message();
  const Samples feedback = SamplesOf(expected.families, "outcomes_feedback_total");
  EXPECT_EQ(SamplesOf(got.families, "outcomes_feedback_total"), feedback);
  for (const char* sentiment : {"positive", "neutral", "negative"}) {
    EXPECT_TRUE(std::any_of(feedback.begin(), feedback.end(), [&](const auto& sample) {
      return sample.first.find(std::string("sentiment=") + sentiment) != std::string::npos;
    })) << sentiment;
  }
  Samples doubled = SamplesOf(expected.families, "outcomes_feedback_score_total");
  for (auto& [labels, sum] : doubled) sum *= 2;
  EXPECT_EQ(SamplesOf(got.families, "outcomes_feedback_score_total"), doubled);
}

std::string Plan(pqxx::work& txn, const std::string& name, const std::string& sql,
                 const std::string& params) {
  txn.exec("PREPARE " + name + " AS " + sql);
  std::string plan;
  const std::string execute =
      "EXPLAIN EXECUTE " + name + (params.empty() ? "" : "(" + params + ")");
  for (const auto& row : txn.exec(execute)) {
    plan += std::string(row[0].c_str()) + "\n";
  }
  return plan;
}

// The start-up plan check knows the user's tables by their own names: a statement that reads
// one whole is reported, with the shipped index that would serve it.
TEST_F(StoreSchemaTest, PlanCheckFindsAWholeReadOfAMappedTable) {
  std::unique_ptr<StoreSession> session = MakePgSession({mapped_.dsn});
  ASSERT_TRUE(session->Connect().ok());
  const std::vector<PlannedStatement> statements = {
      {"by_model", "SELECT count(*) FROM \"Shop Data\".ratings WHERE kind = $1", {"x"}}};
  const auto findings = CheckPlans(*session, statements, WatchedIndexes(mapped_.schema));
  ASSERT_TRUE(findings.ok()) << findings.error();
  ASSERT_EQ(findings.value().size(), 1U);
  EXPECT_EQ(findings.value()[0].first, "by_model");
  EXPECT_EQ(findings.value()[0].second.table, "ratings");
}

// The mapped per-cycle statements of the store, cohorts, drift and A/B collectors read the
// user's tables through the user's keys and indexes.
TEST_F(StoreSchemaTest, MappedStatementsUseTheUsersIndexes) {
  AddRows(40000);  // enough rows that a scan of a whole table costs more than its index
  pqxx::connection connection(sandbox->dsn());
  pqxx::work txn(connection);
  txn.exec("ANALYZE");
  const std::map<std::string, std::string> keys = {
      {"recommendations", "recs_pk"}, {"outcome_events", "events_pk"}, {"feedback", "ratings_pk"}};
  for (const TableSpec& spec : StoreTables(SchemaSql(mapped_.schema))) {
    const std::map<std::string, std::pair<std::string, std::string>> statements = {
        {"max_id", {store_sql::MaxId(spec), ""}},
        {"gaps", {store_sql::Gaps(spec), "100, 200"}},
        {"new_rows", {store_sql::RowsInRange(spec), "100, 200"}},
        {"late_rows", {store_sql::RowsWithIds(spec), "'{150,160}'"}},
        {"late_ids", {store_sql::LateIds(spec), "'{150}', '{160}'"}},
    };
    for (const auto& [name, statement] : statements) {
      const std::string plan =
          Plan(txn, spec.table + "_" + name, statement.first, statement.second);
      EXPECT_NE(plan.find(keys.at(spec.table)), std::string::npos) << statement.first << plan;
      EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << statement.first << plan;
    }
  }
  const SchemaSql sql(mapped_.schema);
  const std::string minute = "floor(extract(epoch FROM now() - interval '10 days') / 60)::bigint";
  const std::map<std::string, std::pair<std::string, std::string>> analytics = {
      {"cohorts_delta",
       {CohortsCollector::DeltaSql(sql), "5900, 6000, '{17,42}', 11800, 12000, '{5}', " + minute}},
      {"cohorts_edges",
       {CohortsCollector::EdgesSql(sql),
        "'3 days', '7 days', " + minute +
            ", floor(extract(epoch FROM now() - interval '3 days') / 60)::bigint"}},
      {"drift_delta",
       {DriftCollector::DeltaSql(sql),
        "5900, 6000, '{17,42}', " + MicrosAgo("8 days") + ", " + MicrosAgo("1 day")}},
      {"drift_edges",
       {DriftCollector::EdgesSql(sql), MicrosAgo("8 days 5 minutes") + ", " + MicrosAgo("8 days") +
                                           ", " + MicrosAgo("1 day 5 minutes") + ", " +
                                           MicrosAgo("1 day") + ", 5900, '{17}', '{42}'"}},
  };
  for (const auto& [name, statement] : analytics) {
    const std::string plan = Plan(txn, name, statement.first, statement.second);
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << name << "\n" << plan;
    const bool delta = name.find("delta") != std::string::npos;
    EXPECT_NE(plan.find(delta ? "recs_pk" : "recs_served_idx"), std::string::npos) << name << "\n"
                                                                                   << plan;
  }
  // The A/B increment: new rows by primary key, each touched customer's history by index.
  std::string params = "'{t1,t2}', '{A,ctl}', '{B,trt}'";
  for (const char* top_sql : {"SELECT max(rec_id) FROM \"Shop Data\".recs",
                              "SELECT max(event_id) FROM \"Shop Data\".\"outcome\"\"log\"",
                              "SELECT max(rating_id) FROM \"Shop Data\".ratings"}) {
    const auto top = txn.exec(top_sql)[0][0].as<std::int64_t>();
    params += ", " + std::to_string(top - 50) + ", " + std::to_string(top) + ", '{" +
              std::to_string(top - 100) + "," + std::to_string(top - 90) + "}'";
  }
  params += ", '{}', '{}', '{}', '{}'";  // no ranges still missing
  const std::string plan = Plan(txn, "ab_tests_delta", ab_sql::Delta(sql), params);
  for (const char* index : {"recs_pk", "events_pk", "ratings_pk", "events_rec_idx"}) {
    EXPECT_NE(plan.find(index), std::string::npos) << index << "\n" << plan;
  }
  EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;
  // A customer the in-memory state does not hold: its history by the customer index.
  const std::string history = Plan(txn, "ab_tests_history", ab_sql::History(sql),
                                   "'{t1}', '{A}', '{c1}', 1000000, '{}', 1000000, '{}', "
                                   "'{}', '{}', '{}', '{}'");
  for (const char* index : {"recs_experiment_idx", "events_rec_idx"}) {
    EXPECT_NE(history.find(index), std::string::npos) << index << "\n" << history;
  }
  EXPECT_EQ(history.find("Seq Scan"), std::string::npos) << history;
}

}  // namespace
}  // namespace outcomes
