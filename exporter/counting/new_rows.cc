#include "exporter/counting/new_rows.h"

#include <charconv>

namespace outcomes {
namespace {

Result<std::int64_t> ParseId(const std::optional<std::string>& text, const std::string& what) {
  if (!text) return std::int64_t{0};
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) {
    return Status::Error(what + ": expected an integer, got \"" + *text + "\"");
  }
  return value;
}

std::string ArrayLiteral(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

Result<std::vector<IdRange>> ReadGaps(SnapshotReader& reader, const std::string& name,
                                      const TableSpec& spec, std::int64_t after,
                                      std::int64_t upto) {
  Result<std::vector<Row>> rows =
      reader.Query(name, store_sql::Gaps(spec), {std::to_string(after), std::to_string(upto)});
  if (!rows.ok()) return rows.status();
  std::vector<IdRange> gaps;
  for (const Row& row : rows.value()) {
    Result<std::int64_t> first = ParseId(row.at(0), spec.table);
    Result<std::int64_t> last = ParseId(row.at(1), spec.table);
    if (!first.ok()) return first.status();
    if (!last.ok()) return last.status();
    gaps.push_back({first.value(), last.value()});
  }
  return gaps;
}

}  // namespace

std::vector<std::string> NewRows::Params() const {
  return {std::to_string(after), std::to_string(upto), ArrayLiteral(found_ids)};
}

std::string InRangesFilter(const std::string& column, int first) {
  const std::string firsts = "$" + std::to_string(first) + "::bigint[]";
  const std::string lasts = "$" + std::to_string(first + 1) + "::bigint[]";
  return "coalesce(" + column + " <= (" + lasts + ")[width_bucket(" + column + ", " + firsts +
         ")], false)";
}

std::vector<std::string> RangeParams(const std::vector<IdRange>& ranges) {
  std::vector<std::int64_t> firsts;
  std::vector<std::int64_t> lasts;
  for (const IdRange& range : ranges) {
    firsts.push_back(range.first);
    lasts.push_back(range.last);
  }
  return {ArrayLiteral(firsts), ArrayLiteral(lasts)};
}

std::string CountedFilter(const std::string& column, int first) {
  return "(" + column + " <= $" + std::to_string(first) + "::bigint AND NOT " +
         InRangesFilter(column, first + 1) + ")";
}

std::string NewRowsFilter(const std::string& column, int first) {
  const auto param = [first](int offset) { return "$" + std::to_string(first + offset); };
  return "((" + column + " > " + param(0) + "::bigint AND " + column + " <= " + param(1) +
         "::bigint) OR " + column + " = ANY(" + param(2) + "::bigint[]))";
}

NewRowsTracker::NewRowsTracker(const SchemaSql& sql, std::string table) {
  spec_.key = sql.Column(table, "id");
  spec_.relation = sql.Table(table);
  spec_.table = std::move(table);
}

void NewRowsTracker::SweepReleasedGaps(SweepPace pace) {
  pace_ = pace;
  ledger_.KeepReleasedGaps();
}

CounterLedger NewRowsTracker::FreshLedger() const {
  CounterLedger ledger({Merge::kSum});
  if (pace_) ledger.KeepReleasedGaps();
  return ledger;
}

Result<NewRows> NewRowsTracker::Read(SnapshotReader& reader, const std::string& prefix) const {
  const std::string name = prefix + spec_.table;
  Result<std::vector<Row>> top_rows = reader.Query(name + "_max_id", store_sql::MaxId(spec_), {});
  if (!top_rows.ok()) return top_rows.status();
  Result<std::int64_t> top = ParseId(top_rows.value().at(0).at(0), spec_.table);
  if (!top.ok()) return top.status();
  NewRows rows;
  rows.old_watermark = ledger_.watermark();
  rows.upto = top.value();
  if (!ledger_.initialized() || top.value() < ledger_.watermark()) {
    // As the first full count: the ids missing just below the top may still be in flight.
    rows.baseline = true;
    Result<std::vector<IdRange>> gaps =
        ReadGaps(reader, name + "_gaps", spec_,
                 std::max<std::int64_t>(0, top.value() - kInitialGapScan), top.value());
    if (!gaps.ok()) return gaps.status();
    rows.new_gaps = std::move(gaps).value();
    return rows;
  }
  rows.after = ledger_.watermark();
  Result<std::vector<std::int64_t>> late =
      ReadVisibleIds(reader, spec_, name + "_late_ids", ledger_.gaps());
  if (!late.ok()) return late.status();
  rows.found_ids = std::move(late).value();
  if (pace_) {
    rows.sweep_batch = sweep_.NextBatch(SweepBatchSize(
        sweep_.ranges(), pace_->interval, pace_->reconcile_interval,
        static_cast<std::size_t>(std::max<std::int64_t>(pace_->ranges_per_cycle, 1))));
    Result<std::vector<std::int64_t>> swept =
        ReadVisibleIds(reader, spec_, name + "_sweep_ids", rows.sweep_batch);
    if (!swept.ok()) return swept.status();
    rows.swept_ids = std::move(swept).value();
    rows.found_ids.insert(rows.found_ids.end(), rows.swept_ids.begin(), rows.swept_ids.end());
  }
  if (rows.upto > rows.after) {
    Result<std::vector<IdRange>> new_gaps =
        ReadGaps(reader, name + "_gaps", spec_, rows.after, rows.upto);
    if (!new_gaps.ok()) return new_gaps.status();
    rows.new_gaps = std::move(new_gaps).value();
  }
  return rows;
}

std::vector<std::string> NewRowsTracker::CountedParams() const {
  std::vector<std::string> params = {std::to_string(ledger_.watermark())};
  for (std::string& array : RangeParams(pace_ ? MissingRanges(ledger_, sweep_) : ledger_.gaps())) {
    params.push_back(std::move(array));
  }
  return params;
}

std::int64_t NewRowsTracker::Commit(const NewRows& rows, SteadyTime now,
                                    Duration late_commit_window) {
  std::int64_t skipped = 0;
  if (rows.baseline) {
    // Read in the baseline's snapshot: nothing older is missing from the aggregates.
    ledger_ = FreshLedger();
    sweep_.Clear();
    ledger_.ApplyFullCount({}, now, rows.upto, rows.new_gaps);
  } else {
    IncrementBatch batch;
    batch.new_watermark = rows.upto;
    batch.new_gaps = rows.new_gaps;
    batch.found_ids = rows.found_ids;
    skipped = ledger_.ApplyIncrement(batch, now);
    if (pace_) sweep_.Done(rows.sweep_batch, rows.swept_ids);
  }
  ledger_.ExpireGaps(now, late_commit_window);
  ledger_.LimitGaps(kMaxGapRanges);
  if (pace_) sweep_.Add(ledger_.TakeReleasedGaps());
  return skipped;
}

}  // namespace outcomes
