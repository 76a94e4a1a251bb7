// The store health collector ("store_health"): the size of the database and of each reference
// table, this sidecar's own connections (by application_name) and the age of the oldest
// transaction that holds a transaction id, the one kind that can commit rows below the
// collectors' watermarks late. Catalog and statistics reads only, no table is read. Owned by
// the scheduler's worker thread; Cancel() is safe from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "exporter/collectors/sql_collector.h"

namespace outcomes {

class StoreHealthCollector : public WithSettings<SqlCollector, StoreHealthConfig> {
 public:
  StoreHealthCollector(const StoreConfig& store, StoreHealthConfig config, StoreCollectorDeps deps);

  // The statements, public so tests can run them against a real store.
  // Sizes: (table, bytes) rows, the database as table "" first. $1: the tables, text[].
  static std::string SizesSql();
  // (state, connections) of the sessions whose application_name is $1, this one included.
  static std::string ConnectionsSql();
  // Age in seconds of the oldest transaction with a transaction id, or of the oldest prepared
  // transaction, in this database; NULL when there is none.
  static std::string OldestTransactionSql();

 protected:
  Status Read(SnapshotReader& reader) override;
  std::vector<prometheus::MetricFamily> Families() const override;

 private:
  struct Gauges {
    std::optional<double> database_bytes;
    std::map<std::string, double> table_bytes;
    std::map<std::string, double> connections;  // by state
    double oldest_transaction_seconds = 0;
  };

  // settings(), by the name the reads use.
  const StoreHealthConfig& config_ = settings();
  // The shipped tables' reference names and the store's names for them, as text[] literals.
  std::string table_names_;
  std::string table_relations_;
  std::optional<Gauges> gauges_;
};

// The factory of "store_health": one collector when `store` is configured and store_health
// is enabled.
void AddStoreHealthCollector(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
