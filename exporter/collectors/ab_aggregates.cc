#include "exporter/collectors/ab_aggregates.h"

#include <algorithm>
#include <set>

#include "exporter/collectors/ab_delta.h"
#include "exporter/collectors/ab_rows.h"
#include "exporter/counting/incremental.h"

namespace outcomes {
namespace {

using ab_rows::IdArray;
using ab_rows::ParseCount;
using ab_rows::ParseSums;
using ab_rows::TextArray;

// The columns of ab_tests_baseline's rows: the full window's 14, customer, highest
// recommendation id, GROUPING.
constexpr std::size_t kBaselineColumns = 17;

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

// Whole tests counted from scratch: their exact sums, and their customers, the most recently
// active first, at most the capacity; `complete` false when there were more.
struct WholeTests {
  std::map<std::string, AbTestSums> sums;
  std::vector<std::pair<AbCustomerKey, AbCustomer>> customers;
  bool complete = true;
};

// Adds one row of ab_tests_baseline to `whole`: an arm's sums, or a customer's state.
Status AddBaselineRow(const Row& row, std::int64_t capacity, WholeTests& whole) {
  if (row.size() != kBaselineColumns) {
    return Status::Error("ab_tests_baseline: unexpected column count");
  }
  const auto test = whole.sums.find(row[0].value_or(""));
  // A test listed now but not by the earlier read of ab_tests cannot happen in one snapshot;
  // skipped rather than trusted half-way.
  if (test == whole.sums.end() || row[2].value_or("") != test->second.variant_a ||
      row[3].value_or("") != test->second.variant_b) {
    return Status::Ok();
  }
  Result<AbSums> sums = ParseSums(row, 5, "ab_tests_baseline");
  if (!sums.ok()) return sums.status();
  const bool is_a = row[1].value_or("") == test->second.variant_a;
  if (row[16].value_or("") == "1") {
    (is_a ? test->second.a : test->second.b) = sums.value();
    return Status::Ok();
  }
  if (static_cast<std::int64_t>(whole.customers.size()) == capacity) {
    whole.complete = false;
    return Status::Ok();
  }
  Result<std::int64_t> last = ParseCount(row[15], "ab_tests_baseline");
  if (!last.ok()) return last.status();
  whole.customers.emplace_back(
      AbCustomerKey{test->first, row[1].value_or(""), row[14].value_or("")},
      AbCustomer{static_cast<std::int64_t>(sums.value().revenue_cents), last.value(),
                 sums.value().converted_customers > 0});
  return Status::Ok();
}

// The exact sums and the customers of `tests` (zero for a test without customers), in one
// statement. With `only`, the statement reads just these tests.
Result<WholeTests> ReadWholeTests(SnapshotReader& reader,
                                  const std::vector<AbTestDefinition>& tests, bool has_split_column,
                                  const std::string& retention, bool only, std::int64_t capacity,
                                  const SchemaSql& sql) {
  WholeTests whole;
  std::vector<std::string> names;
  for (const AbTestDefinition& test : tests) {
    whole.sums[test.test] = AbTestSums{test.variant_a, test.variant_b, {}, {}};
    names.push_back(test.test);
  }
  if (tests.empty()) return whole;
  std::vector<std::string> params = {retention};
  if (only) params.push_back(TextArray(names));
  // Every arm's row, and one customer more than kept to know whether they all were.
  params.push_back(std::to_string(2 * static_cast<std::int64_t>(tests.size()) + capacity + 1));
  Result<std::vector<Row>> rows =
      reader.Query("ab_tests_baseline", ab_sql::Baseline(has_split_column, only, sql), params);
  if (!rows.ok()) return rows.status();
  for (const Row& row : rows.value()) {
    Status status = AddBaselineRow(row, capacity, whole);
    if (!status.ok()) return status;
  }
  return whole;
}

}  // namespace

AbAggregates::AbAggregates(SchemaSql sql, std::int64_t max_customers)
    : sql_(std::move(sql)), tables_(WatermarkTables(sql_)), customers_(max_customers) {
  for (const TableSpec& spec : tables_) {
    ledgers_.emplace_back(spec.merges);
    ledgers_.back().KeepReleasedGaps();
    sweep_tables_.push_back(spec);
    sweep_tables_.back().table = "ab_tests_" + spec.table;
  }
  sweeps_.resize(tables_.size());
}

std::size_t AbAggregates::swept_ranges() const {
  std::size_t ranges = 0;
  for (const GapSweep& sweep : sweeps_) ranges += sweep.ranges();
  return ranges;
}

Status AbAggregates::Initialize(SnapshotReader& reader, const std::vector<AbTestDefinition>& tests,
                                bool has_split_column, const std::string& retention,
                                SteadyTime now) {
  std::vector<CounterLedger> ledgers;
  std::vector<GapSweep> sweeps(tables_.size());
  for (const TableSpec& spec : tables_) {
    Result<std::int64_t> top = ReadMaxId(reader, spec);
    if (!top.ok()) return top.status();
    Result<std::vector<IdRange>> gaps = ReadGaps(
        reader, spec, std::max<std::int64_t>(0, top.value() - kInitialGapScan), top.value());
    if (!gaps.ok()) return gaps.status();
    ledgers.emplace_back(spec.merges);
    ledgers.back().KeepReleasedGaps();
    ledgers.back().ApplyFullCount({}, now, top.value(), gaps.value());
    // Counted in this snapshot: only what the ledger does not track (jumps) is swept.
    sweeps[ledgers.size() - 1].Add(ledgers.back().TakeReleasedGaps());
  }
  Result<WholeTests> whole = ReadWholeTests(reader, tests, has_split_column, retention,
                                            /*only=*/false, customers_.capacity(), sql_);
  if (!whole.ok()) return whole.status();
  ledgers_ = std::move(ledgers);
  sweeps_ = std::move(sweeps);
  tests_ = std::move(whole.value().sums);
  customers_.Clear(whole.value().complete);
  for (const auto& [key, customer] : whole.value().customers) customers_.Put(key, customer);
  initialized_ = true;
  return Status::Ok();
}

Status AbAggregates::ReadDelta(SnapshotReader& reader, const std::vector<std::int64_t>& tops,
                               SteadyTime now, Next& next, AbAdvance& report) const {
  std::vector<IncrementBatch> batches(tables_.size());
  ab_delta::DeltaRead read;
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    IncrementBatch& batch = batches[i];
    CounterLedger& ledger = next.ledgers[i];
    batch.new_watermark = tops[i];
    Result<std::vector<std::int64_t>> found = ReadLateIds(reader, tables_[i], ledger);
    if (!found.ok()) return found.status();
    batch.found_ids = std::move(found).value();
    if (batch.new_watermark > ledger.watermark()) {
      Result<std::vector<IdRange>> gaps =
          ReadGaps(reader, tables_[i], ledger.watermark(), batch.new_watermark);
      if (!gaps.ok()) return gaps.status();
      batch.new_gaps = std::move(gaps).value();
    }
    read.from[i] = ledger.watermark();
    read.to[i] = batch.new_watermark;
    read.found[i] = batch.found_ids;
    if (i < read.missing.size()) read.missing[i] = MissingRanges(ledger, next.sweeps[i]);
  }
  Result<std::vector<std::int64_t>> counted =
      ab_delta::Apply(reader, sql_, customers_, read, next.tests, next.updates, report);
  if (!counted.ok()) return counted.status();
  for (std::size_t i = 0; i < tables_.size(); ++i) next.ledgers[i].ApplyIncrement(batches[i], now);
  // Committed recommendations of the sweep's ranges that new rows touched are counted now.
  next.sweeps[0].Done({}, counted.value());
  return Status::Ok();
}

Result<AbAdvance> AbAggregates::Advance(SnapshotReader& reader,
                                        const std::vector<AbTestDefinition>& tests,
                                        bool has_split_column, const AbSweepPace& pace,
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
  Next next{tests_, ledgers_, sweeps_, {}};
  // Tests that left the list, or whose variants changed, are dropped; the rest advance.
  std::set<std::string> listed;
  std::vector<AbTestDefinition> added;
  for (const AbTestDefinition& test : tests) {
    listed.insert(test.test);
    const auto known = next.tests.find(test.test);
    if (known != next.tests.end() && known->second.variant_a == test.variant_a &&
        known->second.variant_b == test.variant_b) {
      continue;
    }
    if (known != next.tests.end()) next.tests.erase(known);
    added.push_back(test);
  }
  std::erase_if(next.tests, [&](const auto& entry) { return !listed.contains(entry.first); });
  Status status = ReadDelta(reader, tops, now, next, report);
  if (status.ok()) status = Sweep(reader, tops, pace, !added.empty(), next, report);
  if (!status.ok()) return status;
  // Tests new to the list (registered after their first recommendations) are counted whole,
  // with their customers.
  Result<WholeTests> whole = ReadWholeTests(reader, added, has_split_column, retention,
                                            /*only=*/true, customers_.capacity(), sql_);
  if (!whole.ok()) return whole.status();
  const std::map<std::string, AbTestSums>& rebuilt = whole.value().sums;
  for (const auto& [test, test_sums] : rebuilt) next.tests[test] = test_sums;
  Commit(std::move(next), rebuilt, whole.value().customers, whole.value().complete);
  report.customers_evicted = customers_.Evict();
  return report;
}

void AbAggregates::Commit(Next next, const std::map<std::string, AbTestSums>& rebuilt,
                          const CustomerUpdates& loaded, bool loaded_complete) {
  for (const auto& [test, sums] : tests_) {
    if (!next.tests.contains(test) || rebuilt.contains(test)) customers_.DropTest(test);
  }
  tests_ = std::move(next.tests);
  ledgers_ = std::move(next.ledgers);
  sweeps_ = std::move(next.sweeps);
  for (const auto& [key, customer] : next.updates) {
    if (!rebuilt.contains(key.test)) customers_.Put(key, customer);
  }
  for (const auto& [key, customer] : loaded) customers_.Put(key, customer);
  if (!loaded_complete) customers_.MarkIncomplete();
}

std::int64_t AbAggregates::ExpireGaps(SteadyTime now, Duration window) {
  std::int64_t given_up = 0;
  for (std::size_t i = 0; i < ledgers_.size(); ++i) {
    ledgers_[i].ExpireGaps(now, window);
    ledgers_[i].LimitGaps(kMaxGapRanges);
    given_up += sweeps_[i].Add(ledgers_[i].TakeReleasedGaps());
  }
  return given_up;
}

}  // namespace outcomes
