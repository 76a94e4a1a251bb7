#include "exporter/collectors/ab_aggregates.h"

#include <algorithm>
#include <set>

#include "exporter/collectors/ab_rows.h"
#include "exporter/counting/incremental.h"

namespace outcomes {
namespace {

using ab_rows::IdArray;
using ab_rows::ParseBool;
using ab_rows::ParseCount;
using ab_rows::ParseSums;
using ab_rows::TextArray;

// Column counts of the statements' rows.
constexpr std::size_t kFullWindowColumns = 14;
constexpr std::size_t kDeltaColumns = 11;
constexpr std::size_t kHistoryColumns = 6;
constexpr std::size_t kCustomersColumns = 6;

// The tables the aggregates read, in the store's names, for the watermark statements of
// incremental.h; statement names keep the reference names.
std::vector<TableSpec> WatermarkTables(const SchemaSql& sql) {
  std::vector<TableSpec> tables;
  for (const char* table : {"recommendations", "outcome_events", "feedback"}) {
    TableSpec spec{table, "", "", 0, {Merge::kSum}};
    spec.key = sql.Column(table, "id");
    spec.relation = sql.Table(table);
    tables.push_back(std::move(spec));
  }
  return tables;
}

Result<std::int64_t> ReadMaxId(SnapshotReader& reader, const TableSpec& spec) {
  Result<std::vector<Row>> top =
      reader.Query("ab_tests_" + spec.table + "_max_id", store_sql::MaxId(spec), {});
  if (!top.ok()) return top.status();
  return ParseCount(top.value().at(0).at(0), spec.table);
}

Result<std::vector<IdRange>> ReadGaps(SnapshotReader& reader, const TableSpec& spec,
                                      std::int64_t from, std::int64_t to) {
  Result<std::vector<Row>> rows =
      reader.Query("ab_tests_" + spec.table + "_gaps", store_sql::Gaps(spec),
                   {std::to_string(from), std::to_string(to)});
  if (!rows.ok()) return rows.status();
  std::vector<IdRange> gaps;
  for (const Row& row : rows.value()) {
    Result<std::int64_t> first = ParseCount(row.at(0), spec.table);
    Result<std::int64_t> last = ParseCount(row.at(1), spec.table);
    if (!first.ok()) return first.status();
    if (!last.ok()) return last.status();
    gaps.push_back({first.value(), last.value()});
  }
  return gaps;
}

// The ids of the ledger's gaps that the snapshot holds now.
Result<std::vector<std::int64_t>> ReadLateIds(SnapshotReader& reader, const TableSpec& spec,
                                              const CounterLedger& ledger) {
  std::vector<std::int64_t> firsts;
  std::vector<std::int64_t> lasts;
  for (const IdRange& gap : ledger.gaps()) {
    firsts.push_back(gap.first);
    lasts.push_back(gap.last);
  }
  if (firsts.empty()) return std::vector<std::int64_t>{};
  Result<std::vector<Row>> rows =
      reader.Query("ab_tests_" + spec.table + "_late_ids", store_sql::LateIds(spec),
                   {IdArray(firsts), IdArray(lasts)});
  if (!rows.ok()) return rows.status();
  std::vector<std::int64_t> ids;
  for (const Row& row : rows.value()) {
    Result<std::int64_t> id = ParseCount(row.at(0), spec.table);
    if (!id.ok()) return id.status();
    ids.push_back(id.value());
  }
  return ids;
}

// The exact full-window sums per test of `tests` (zero for a test without customers).
Result<std::map<std::string, AbTestSums>> ReadFullWindow(SnapshotReader& reader,
                                                         const std::vector<AbTestDefinition>& tests,
                                                         bool has_split_column,
                                                         const std::string& retention, bool only,
                                                         const SchemaSql& sql) {
  std::map<std::string, AbTestSums> sums;
  std::vector<std::string> names;
  for (const AbTestDefinition& test : tests) {
    sums[test.test] = AbTestSums{test.variant_a, test.variant_b, {}, {}};
    names.push_back(test.test);
  }
  std::vector<std::string> params = {retention};
  if (only) params.push_back(TextArray(names));
  Result<std::vector<Row>> rows = reader.Query(
      "ab_tests_arms", ab_sql::FullWindow(has_split_column, /*exact=*/true, only, sql), params);
  if (!rows.ok()) return rows.status();
  for (const Row& row : rows.value()) {
    if (row.size() != kFullWindowColumns) {
      return Status::Error("ab_tests_arms: unexpected column count");
    }
    const auto test = sums.find(row[0].value_or(""));
    // A test listed now but not by the earlier read of ab_tests cannot happen in one snapshot;
    // skipped rather than trusted half-way.
    if (test == sums.end() || row[2].value_or("") != test->second.variant_a ||
        row[3].value_or("") != test->second.variant_b) {
      continue;
    }
    Result<AbSums> arm = ParseSums(row, 5, "ab_tests_arms");
    if (!arm.ok()) return arm.status();
    (row[1].value_or("") == test->second.variant_a ? test->second.a : test->second.b) = arm.value();
  }
  return sums;
}

// The tests as the three text[] parameters (test, variant_a, variant_b) of the statements.
std::vector<std::string> TestArrays(const std::map<std::string, AbTestSums>& tests) {
  std::vector<std::string> names;
  std::vector<std::string> variants_a;
  std::vector<std::string> variants_b;
  for (const auto& [test, sums] : tests) {
    names.push_back(test);
    variants_a.push_back(sums.variant_a);
    variants_b.push_back(sums.variant_b);
  }
  return {TextArray(names), TextArray(variants_a), TextArray(variants_b)};
}

// The customers of `tests` as the store holds them, the most recent first, at most
// `capacity`; `complete` false when there were more.
struct Backfill {
  std::vector<std::pair<AbCustomerKey, AbCustomer>> customers;
  bool complete = true;
};

Result<Backfill> ReadCustomers(SnapshotReader& reader,
                               const std::map<std::string, AbTestSums>& tests,
                               std::int64_t capacity, const SchemaSql& sql) {
  Backfill backfill;
  if (tests.empty()) return backfill;
  std::vector<std::string> params = TestArrays(tests);
  params.push_back(std::to_string(capacity + 1));
  Result<std::vector<Row>> rows =
      reader.Query("ab_tests_customers", ab_sql::Customers(sql), params);
  if (!rows.ok()) return rows.status();
  for (const Row& row : rows.value()) {
    if (row.size() != kCustomersColumns) {
      return Status::Error("ab_tests_customers: unexpected column count");
    }
    if (static_cast<std::int64_t>(backfill.customers.size()) == capacity) {
      backfill.complete = false;
      break;
    }
    Result<bool> converted = ParseBool(row[3], "ab_tests_customers");
    Result<std::int64_t> revenue = ParseCount(row[4], "ab_tests_customers");
    Result<std::int64_t> last = ParseCount(row[5], "ab_tests_customers");
    for (const Status& status : {converted.status(), revenue.status(), last.status()}) {
      if (!status.ok()) return status;
    }
    backfill.customers.emplace_back(
        AbCustomerKey{row[0].value_or(""), row[1].value_or(""), row[2].value_or("")},
        AbCustomer{revenue.value(), last.value(), converted.value()});
  }
  return backfill;
}

// One recommendation the new rows touched, from ab_tests_delta.
struct Touched {
  AbCustomerKey key;
  bool counted = false;  // the recommendation itself was counted before
  AbSums arm;            // what it changes in its arm's sums, but customers and squares
  bool purchased = false;
  std::int64_t revenue_change_cents = 0;  // of its customer's revenue
};

Result<Touched> ParseTouched(const Row& row) {
  const std::string what = "ab_tests_delta";
  if (row.size() != kDeltaColumns) return Status::Error(what + ": unexpected column count");
  Touched touched;
  touched.key = {row[0].value_or(""), row[1].value_or(""), row[2].value_or("")};
  // counted, purchased now, returned now, purchased before, returned before
  bool flags[5] = {};
  const std::size_t flag_columns[5] = {3, 4, 5, 7, 8};
  std::int64_t values[3] = {};  // revenue added, score sum, score count
  const std::size_t value_columns[3] = {6, 9, 10};
  for (std::size_t i = 0; i < 5; ++i) {
    Result<bool> flag = ParseBool(row[flag_columns[i]], what);
    if (!flag.ok()) return flag.status();
    flags[i] = flag.value();
  }
  for (std::size_t i = 0; i < 3; ++i) {
    Result<std::int64_t> value = ParseCount(row[value_columns[i]], what);
    if (!value.ok()) return value.status();
    values[i] = value.value();
  }
  touched.counted = flags[0];
  touched.purchased = flags[1];
  touched.arm.recommendations = touched.counted ? 0 : 1;
  touched.arm.purchases = flags[1] && !flags[3] ? 1 : 0;
  touched.arm.returns = flags[2] && !flags[4] ? 1 : 0;
  touched.revenue_change_cents = values[0];
  touched.arm.revenue_cents = values[0];
  touched.arm.satisfaction_sum = values[1];
  touched.arm.satisfaction_count = values[2];
  return touched;
}

// What the touched recommendations of one customer change.
struct CustomerChange {
  bool any_counted = false;  // one of them was counted: the customer has a counted history
  bool purchased = false;
  std::int64_t revenue_change_cents = 0;
};

// The counted state of `keys`, through index lookups of their histories; a customer without
// a counted recommendation is left out. `params` are the delta's.
Result<std::map<AbCustomerKey, AbCustomer>> ReadBack(SnapshotReader& reader,
                                                     const std::vector<AbCustomerKey>& keys,
                                                     const std::vector<std::string>& params,
                                                     const SchemaSql& sql) {
  std::map<AbCustomerKey, AbCustomer> found;
  if (keys.empty()) return found;
  std::vector<std::string> tests;
  std::vector<std::string> variants;
  std::vector<std::string> customers;
  for (const AbCustomerKey& key : keys) {
    tests.push_back(key.test);
    variants.push_back(key.variant);
    customers.push_back(key.customer);
  }
  Result<std::vector<Row>> rows =
      reader.Query("ab_tests_history", ab_sql::History(sql),
                   {TextArray(tests), TextArray(variants), TextArray(customers), params[3],
                    params[5], params[6], params[8]});
  if (!rows.ok()) return rows.status();
  for (const Row& row : rows.value()) {
    if (row.size() != kHistoryColumns) {
      return Status::Error("ab_tests_history: unexpected column count");
    }
    Result<std::int64_t> recommendations = ParseCount(row[3], "ab_tests_history");
    Result<bool> converted = ParseBool(row[4], "ab_tests_history");
    Result<std::int64_t> revenue = ParseCount(row[5], "ab_tests_history");
    for (const Status& status : {recommendations.status(), converted.status(), revenue.status()}) {
      if (!status.ok()) return status;
    }
    if (recommendations.value() == 0) continue;
    found[{row[0].value_or(""), row[1].value_or(""), row[2].value_or("")}] =
        AbCustomer{revenue.value(), 0, converted.value()};
  }
  return found;
}

// The full-window count of every listed test: the arms that differ from `counted` go into
// `corrections` and their tests into `rebuilt`; `counted` becomes what the store holds.
Status Reconcile(SnapshotReader& reader, const std::vector<AbTestDefinition>& tests,
                 bool has_split_column, const std::string& retention,
                 std::map<std::string, AbTestSums>& counted,
                 std::map<std::string, AbTestSums>& rebuilt, std::vector<AbCorrection>& corrections,
                 const SchemaSql& sql) {
  Result<std::map<std::string, AbTestSums>> store =
      ReadFullWindow(reader, tests, has_split_column, retention, /*only=*/false, sql);
  if (!store.ok()) return store.status();
  for (const auto& [test, sums] : store.value()) {
    const AbTestSums& before = counted[test];
    if (before.a != sums.a) corrections.push_back({test, sums.variant_a, before.a, sums.a});
    if (before.b != sums.b) corrections.push_back({test, sums.variant_b, before.b, sums.b});
    // The customer state gave the wrong sums: it is read again with the test.
    if (before.a != sums.a || before.b != sums.b) rebuilt[test] = sums;
  }
  counted = std::move(store).value();
  return Status::Ok();
}

AbSums& ArmOf(AbTestSums& test, const std::string& variant) {
  return variant == test.variant_a ? test.a : test.b;
}

// Adds what `changes` make of their customers to `tests` (customers, converted customers,
// revenue squares) and lists the customers' new state in `updates`. `held_state` is the state
// before this cycle; `seen` the recommendations' new watermark.
Status ApplyChanges(SnapshotReader& reader, const AbCustomerState& held_state,
                    const std::map<AbCustomerKey, CustomerChange>& changes,
                    const std::vector<std::string>& params, std::int64_t seen,
                    std::map<std::string, AbTestSums>& tests,
                    std::vector<std::pair<AbCustomerKey, AbCustomer>>& updates, AbAdvance& report,
                    const SchemaSql& sql) {
  // A customer not held has no counted history while the state is complete and none of its
  // touched recommendations was counted; any other is read back.
  std::vector<AbCustomerKey> unknown;
  for (const auto& [key, change] : changes) {
    if (held_state.Find(key) == nullptr && (!held_state.complete() || change.any_counted)) {
      unknown.push_back(key);
    }
  }
  Result<std::map<AbCustomerKey, AbCustomer>> read_back = ReadBack(reader, unknown, params, sql);
  if (!read_back.ok()) return read_back.status();
  report.customers_read_back += static_cast<std::int64_t>(unknown.size());
  for (const auto& [key, change] : changes) {
    const AbCustomer* held = held_state.Find(key);
    const auto found = read_back.value().find(key);
    const AbCustomer* before =
        held != nullptr ? held : (found != read_back.value().end() ? &found->second : nullptr);
    AbSums& arm = ArmOf(tests.at(key.test), key.variant);
    AbCustomer after = before != nullptr ? *before : AbCustomer{};
    after.revenue_cents += change.revenue_change_cents;
    after.converted = after.converted || change.purchased;
    after.last_seen = seen;
    const ExactSum old_revenue = before != nullptr ? before->revenue_cents : 0;
    const ExactSum new_revenue = after.revenue_cents;
    arm.customers += before == nullptr ? 1 : 0;
    arm.converted_customers +=
        (after.converted ? 1 : 0) - (before != nullptr && before->converted ? 1 : 0);
    arm.revenue_squares_cents += new_revenue * new_revenue - old_revenue * old_revenue;
    updates.emplace_back(key, after);
  }
  return Status::Ok();
}

}  // namespace

AbAggregates::AbAggregates(SchemaSql sql, std::int64_t max_customers)
    : sql_(std::move(sql)), tables_(WatermarkTables(sql_)), customers_(max_customers) {
  for (const TableSpec& spec : tables_) ledgers_.emplace_back(spec.merges);
}

Status AbAggregates::Initialize(SnapshotReader& reader, const std::vector<AbTestDefinition>& tests,
                                bool has_split_column, const std::string& retention,
                                SteadyTime now) {
  std::vector<CounterLedger> ledgers;
  for (const TableSpec& spec : tables_) {
    Result<std::int64_t> top = ReadMaxId(reader, spec);
    if (!top.ok()) return top.status();
    Result<std::vector<IdRange>> gaps = ReadGaps(
        reader, spec, std::max<std::int64_t>(0, top.value() - kInitialGapScan), top.value());
    if (!gaps.ok()) return gaps.status();
    ledgers.emplace_back(spec.merges);
    ledgers.back().ApplyFullCount({}, now, top.value(), gaps.value());
  }
  Result<std::map<std::string, AbTestSums>> sums =
      ReadFullWindow(reader, tests, has_split_column, retention, /*only=*/false, sql_);
  if (!sums.ok()) return sums.status();
  Result<Backfill> backfill = ReadCustomers(reader, sums.value(), customers_.capacity(), sql_);
  if (!backfill.ok()) return backfill.status();
  ledgers_ = std::move(ledgers);
  tests_ = std::move(sums).value();
  customers_.Clear(backfill.value().complete);
  for (const auto& [key, customer] : backfill.value().customers) customers_.Put(key, customer);
  initialized_ = true;
  return Status::Ok();
}

Status AbAggregates::ReadDelta(SnapshotReader& reader, const std::vector<std::int64_t>& tops,
                               SteadyTime now, std::vector<CounterLedger>& ledgers,
                               std::map<std::string, AbTestSums>& tests, CustomerUpdates& updates,
                               AbAdvance& report) const {
  const std::vector<TableSpec>& specs = tables_;
  std::vector<IncrementBatch> batches(specs.size());
  std::vector<std::string> params = TestArrays(tests);
  params.resize(12);
  bool anything_new = false;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    IncrementBatch& batch = batches[i];
    batch.new_watermark = tops[i];
    Result<std::vector<std::int64_t>> found = ReadLateIds(reader, specs[i], ledgers[i]);
    if (!found.ok()) return found.status();
    batch.found_ids = std::move(found).value();
    if (batch.new_watermark > ledgers[i].watermark()) {
      Result<std::vector<IdRange>> gaps =
          ReadGaps(reader, specs[i], ledgers[i].watermark(), batch.new_watermark);
      if (!gaps.ok()) return gaps.status();
      batch.new_gaps = std::move(gaps).value();
    }
    anything_new =
        anything_new || !batch.found_ids.empty() || batch.new_watermark > ledgers[i].watermark();
    params[3 + 3 * i] = std::to_string(ledgers[i].watermark());
    params[4 + 3 * i] = std::to_string(batch.new_watermark);
    params[5 + 3 * i] = IdArray(batch.found_ids);
  }
  if (anything_new && !tests.empty()) {
    Result<std::vector<Row>> rows = reader.Query("ab_tests_delta", ab_sql::Delta(sql_), params);
    if (!rows.ok()) return rows.status();
    std::map<AbCustomerKey, CustomerChange> changes;
    for (const Row& row : rows.value()) {
      Result<Touched> touched = ParseTouched(row);
      if (!touched.ok()) return touched.status();
      const auto test = tests.find(touched.value().key.test);
      if (test == tests.end()) continue;
      ArmOf(test->second, touched.value().key.variant) += touched.value().arm;
      CustomerChange& change = changes[touched.value().key];
      change.any_counted = change.any_counted || touched.value().counted;
      change.purchased = change.purchased || touched.value().purchased;
      change.revenue_change_cents += touched.value().revenue_change_cents;
    }
    Status status =
        ApplyChanges(reader, customers_, changes, params, tops[0], tests, updates, report, sql_);
    if (!status.ok()) return status;
  }
  for (std::size_t i = 0; i < specs.size(); ++i) ledgers[i].ApplyIncrement(batches[i], now);
  return Status::Ok();
}

Result<AbAdvance> AbAggregates::Advance(SnapshotReader& reader,
                                        const std::vector<AbTestDefinition>& tests,
                                        bool has_split_column, bool reconcile,
                                        const std::string& retention, SteadyTime now) {
  AbAdvance report;
  report.counted_from_scratch = !initialized_;
  std::vector<std::int64_t> tops;
  if (initialized_) {
    // A table below its watermark (an older backup restored, newest rows deleted) holds ids
    // that are no longer the ones counted: everything is counted again from this snapshot.
    for (std::size_t i = 0; i < ledgers_.size(); ++i) {
      Result<std::int64_t> top = ReadMaxId(reader, tables_[i]);
      if (!top.ok()) return top.status();
      if (top.value() < ledgers_[i].watermark()) report.counted_from_scratch = true;
      tops.push_back(top.value());
    }
  }
  if (report.counted_from_scratch) {
    Status status = Initialize(reader, tests, has_split_column, retention, now);
    if (!status.ok()) return status;
    return report;
  }
  // Everything is read into these first, and kept only once every statement succeeded.
  std::map<std::string, AbTestSums> next_tests = tests_;
  std::vector<CounterLedger> next_ledgers = ledgers_;
  CustomerUpdates updates;
  // Tests that left the list, or whose variants changed, are dropped; the rest advance.
  std::set<std::string> listed;
  std::vector<AbTestDefinition> added;
  for (const AbTestDefinition& test : tests) {
    listed.insert(test.test);
    const auto known = next_tests.find(test.test);
    if (known != next_tests.end() && known->second.variant_a == test.variant_a &&
        known->second.variant_b == test.variant_b) {
      continue;
    }
    if (known != next_tests.end()) next_tests.erase(known);
    added.push_back(test);
  }
  std::erase_if(next_tests, [&](const auto& entry) { return !listed.contains(entry.first); });
  Status status = ReadDelta(reader, tops, now, next_ledgers, next_tests, updates, report);
  if (!status.ok()) return status;
  // Tests counted whole, with their customers: new to the list (registered after their first
  // recommendations), and those the reconciliation corrected.
  std::map<std::string, AbTestSums> rebuilt;
  if (!added.empty()) {
    Result<std::map<std::string, AbTestSums>> sums =
        ReadFullWindow(reader, added, has_split_column, retention, /*only=*/true, sql_);
    if (!sums.ok()) return sums.status();
    for (const auto& [test, test_sums] : sums.value()) next_tests[test] = rebuilt[test] = test_sums;
  }
  if (reconcile) {
    status = Reconcile(reader, tests, has_split_column, retention, next_tests, rebuilt,
                       report.corrections, sql_);
    if (!status.ok()) return status;
  }
  Result<Backfill> backfill = ReadCustomers(reader, rebuilt, customers_.capacity(), sql_);
  if (!backfill.ok()) return backfill.status();
  Commit(std::move(next_tests), std::move(next_ledgers), updates, rebuilt,
         backfill.value().customers, backfill.value().complete);
  report.customers_evicted = customers_.Evict();
  return report;
}

void AbAggregates::Commit(std::map<std::string, AbTestSums> tests,
                          std::vector<CounterLedger> ledgers, const CustomerUpdates& updates,
                          const std::map<std::string, AbTestSums>& rebuilt,
                          const CustomerUpdates& loaded, bool loaded_complete) {
  for (const auto& [test, sums] : tests_) {
    if (!tests.contains(test) || rebuilt.contains(test)) customers_.DropTest(test);
  }
  tests_ = std::move(tests);
  ledgers_ = std::move(ledgers);
  for (const auto& [key, customer] : updates) {
    if (!rebuilt.contains(key.test)) customers_.Put(key, customer);
  }
  for (const auto& [key, customer] : loaded) customers_.Put(key, customer);
  if (!loaded_complete) customers_.MarkIncomplete();
}

void AbAggregates::ExpireGaps(SteadyTime now, Duration window) {
  for (CounterLedger& ledger : ledgers_) {
    ledger.ExpireGaps(now, window);
    ledger.LimitGaps(kMaxGapRanges);
  }
}

}  // namespace outcomes
