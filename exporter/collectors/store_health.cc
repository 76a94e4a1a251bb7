#include "exporter/collectors/store_health.h"

#include "exporter/metrics/family.h"
#include "exporter/store/schema_sql.h"

namespace outcomes {
namespace {

// The reference schema's tables, the names the size gauges carry.
constexpr const char* kTables[] = {"recommendations", "outcome_events", "feedback", "ab_tests"};

// A PostgreSQL text[] literal: every element double-quoted, `"` and `\` escaped.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const std::string& item : items) {
    out += out.size() > 1 ? ",\"" : "\"";
    for (const char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

// pg_database_size reads the sizes of the database's files, pg_total_relation_size those of a
// table with its indexes and TOAST; to_regclass gives NULL for a table the store lacks. $1 are
// the reference names, $2 the store's (store.schema).
std::string StoreHealthCollector::SizesSql() {
  return "SELECT '', pg_database_size(current_database()) UNION ALL "
         "SELECT t.name, pg_total_relation_size(to_regclass(t.relation)) "
         "FROM unnest($1::text[], $2::text[]) AS t(name, relation) "
         "WHERE to_regclass(t.relation) IS NOT NULL";
}

std::string StoreHealthCollector::ConnectionsSql() {
  return "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity "
         "WHERE application_name = $1 GROUP BY 1";
}

// A read-only transaction never takes a transaction id (backend_xid), so its rows cannot
// commit late; the sidecar's own snapshots are of that kind. Other roles' backend_xid and
// xact_start are visible with pg_read_all_stats (or pg_monitor) only.
std::string StoreHealthCollector::OldestTransactionSql() {
  return "SELECT extract(epoch FROM clock_timestamp() - min(started))::float8 FROM ("
         "SELECT xact_start AS started FROM pg_stat_activity "
         "WHERE datname = current_database() AND backend_xid IS NOT NULL "
         "AND xact_start IS NOT NULL AND pid <> pg_backend_pid() "
         "UNION ALL SELECT prepared FROM pg_prepared_xacts WHERE database = current_database()"
         ") s";
}

StoreHealthCollector::StoreHealthCollector(const StoreConfig& store, StoreHealthConfig config,
                                           StoreCollectorDeps deps)
    : WithSettings(config, "store_health", store, config.interval, config.timeout,
                   std::move(deps)) {
  const SchemaSql sql(store.schema);
  std::vector<std::string> names;
  std::vector<std::string> relations;
  for (const char* table : kTables) {
    names.emplace_back(table);
    relations.push_back(sql.Table(table));
  }
  table_names_ = TextArray(names);
  table_relations_ = TextArray(relations);
}

Status StoreHealthCollector::Read(SnapshotReader& reader) {
  Gauges gauges;
  Result<std::vector<Row>> sizes =
      reader.Query("store_health_sizes", SizesSql(), {table_names_, table_relations_});
  if (!sizes.ok()) return sizes.status();
  for (const Row& row : sizes.value()) {
    if (row.size() != 2) return Status::Error("store_health_sizes: unexpected column count");
    Result<double> bytes = ParseNumber(row[1], "store_health_sizes");
    if (!bytes.ok()) return bytes.status();
    const std::string table = row[0].value_or("");
    if (table.empty()) {
      gauges.database_bytes = bytes.value();
    } else {
      gauges.table_bytes[table] = bytes.value();
    }
  }
  Result<std::vector<Row>> connections =
      reader.Query("store_health_connections", ConnectionsSql(), {store_config().application_name});
  if (!connections.ok()) return connections.status();
  for (const Row& row : connections.value()) {
    if (row.size() != 2) return Status::Error("store_health_connections: unexpected column count");
    Result<double> count = ParseNumber(row[1], "store_health_connections");
    if (!count.ok()) return count.status();
    gauges.connections[row[0].value_or("unknown")] = count.value();
  }
  Result<std::vector<Row>> oldest =
      reader.Query("store_health_oldest_transaction", OldestTransactionSql(), {});
  if (!oldest.ok()) return oldest.status();
  if (oldest.value().size() != 1 || oldest.value()[0].size() != 1) {
    return Status::Error("store_health_oldest_transaction: expected one value");
  }
  Result<double> age = ParseNumber(oldest.value()[0][0], "store_health_oldest_transaction");
  if (!age.ok()) return age.status();
  gauges.oldest_transaction_seconds = std::max(0.0, age.value());
  gauges_ = std::move(gauges);
  return Status::Ok();
}

std::vector<prometheus::MetricFamily> StoreHealthCollector::Families() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  if (!gauges_) return families;
  if (gauges_->database_bytes) {
    auto database = MakeFamily("outcomes_store_database_size_bytes",
                               "Size of the outcomes store's database on disk (pg_database_size).",
                               MetricType::Gauge);
    AddSample(database, {}, *gauges_->database_bytes);
    families.push_back(std::move(database));
  }
  auto tables = MakeFamily("outcomes_store_table_size_bytes",
                           "Size of each table of the outcomes store with its indexes and TOAST "
                           "(pg_total_relation_size).",
                           MetricType::Gauge);
  for (const auto& [table, bytes] : gauges_->table_bytes) {
    AddSample(tables, {{"table", table}}, bytes);
  }
  if (!tables.metric.empty()) families.push_back(std::move(tables));
  auto connections = MakeFamily("outcomes_exporter_store_connections",
                                "This sidecar's connections to the outcomes store by state (its "
                                "application_name in pg_stat_activity).",
                                MetricType::Gauge);
  for (const auto& [state, count] : gauges_->connections) {
    AddSample(connections, {{"state", state}}, count);
  }
  if (!connections.metric.empty()) families.push_back(std::move(connections));
  auto oldest = MakeFamily("outcomes_store_oldest_transaction_age_seconds",
                           "Age of the oldest open transaction that has written (or prepared) in "
                           "the store's database; 0 when there is none.",
                           MetricType::Gauge);
  AddSample(oldest, {}, gauges_->oldest_transaction_seconds);
  families.push_back(std::move(oldest));
  return families;
}

void AddStoreHealthCollector(const Config& config, CollectorContext& context, CollectorSet& out) {
  if (!config.store || !config.store_health.enabled) return;
  out.Add(std::make_shared<StoreHealthCollector>(*config.store, config.store_health,
                                                 StoreDeps(context)));
}

}  // namespace outcomes
