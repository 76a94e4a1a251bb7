// The start-up plan check against a real PostgreSQL made from deploy/sql/schema.sql: the
// shipped indexes serve every steady-state statement of the store, cohorts and drift
// collectors, and a missing index gives one warning naming it and its statement.
#include "exporter/store/plan_check.h"

#include <gtest/gtest.h>

#include <pqxx/pqxx>
#include <sstream>

#include "exporter/collectors/cohorts.h"
#include "exporter/collectors/drift.h"
#include "exporter/collectors/store.h"
#include "pg_sandbox.h"

namespace outcomes {
namespace {

using testing_support::PgSandbox;

// One PostgreSQL for the binary, started on first use and stopped at exit.
PgSandbox& Sandbox() {
  static PgSandbox sandbox;
  return sandbox;
}

constexpr const char* kWarning = "a statement reads a whole table";

void Exec(const std::string& sql) {
  pqxx::connection connection(Sandbox().dsn());
  pqxx::nontransaction txn(connection);
  txn.exec(sql);
}

class PlanCheckTest : public testing::Test {
 protected:
  // One cycle of each SQL collector of the reference schema; returns the log.
  std::string CollectOnce() {
    StoreConfig store;
    store.dsn = Sandbox().dsn();
    const StoreCollectorDeps deps{
        log_, [](const SessionOptions& options) { return MakePgSession(options); }};
    StoreCollector store_collector(store, deps);
    CohortsCollector cohorts(store, CohortsConfig{}, 0, deps);
    DriftCollector drift(store, DriftConfig{}, deps);
    EXPECT_TRUE(store_collector.Collect().status.ok());
    EXPECT_TRUE(cohorts.Collect().status.ok());
    EXPECT_TRUE(drift.Collect().status.ok());
    return output_.str();
  }

  static int Count(const std::string& text, const std::string& what) {
    int count = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
      ++count;
    }
    return count;
  }

  std::ostringstream output_;
  Logger log_{output_, LogLevel::kDebug, LogFormat::kLogfmt};
};

TEST_F(PlanCheckTest, ShippedSchemaServesEveryStatement) {
  const std::string log = CollectOnce();
  EXPECT_EQ(Count(log, kWarning), 0) << log;
  EXPECT_EQ(Count(log, "could not check the plans"), 0) << log;
}

TEST_F(PlanCheckTest, MissingIndexGivesOneWarningNamingItAndTheStatement) {
  Exec("DROP INDEX recommendations_model_version_created_at_idx");
  const std::string log = CollectOnce();
  Exec(
      "CREATE INDEX recommendations_model_version_created_at_idx ON recommendations "
      "(model_version, created_at)");
  EXPECT_EQ(Count(log, kWarning), 1) << log;
  EXPECT_EQ(Count(log, "index=recommendations_model_version_created_at_idx"), 1) << log;
  EXPECT_EQ(Count(log, "statement=model_versions_first_seen"), 1) << log;
}

TEST_F(PlanCheckTest, ShippedIndexesExistInTheSchema) {
  pqxx::connection connection(Sandbox().dsn());
  pqxx::nontransaction txn(connection);
  for (const ShippedIndex& index : ShippedIndexes()) {
    const pqxx::row row =
        txn.exec_params1("SELECT count(*) FROM pg_indexes WHERE tablename = $1 AND indexname = $2",
                         index.table, index.name);
    EXPECT_EQ(row[0].as<int>(), 1) << index.name;
  }
}

}  // namespace
}  // namespace outcomes
