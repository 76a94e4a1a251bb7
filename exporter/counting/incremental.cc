#include "exporter/counting/incremental.h"

#include <algorithm>
#include <charconv>

namespace outcomes {
namespace {

std::string Fill(const std::string& sql, const std::string& filter) {
  std::string out = sql;
  const std::size_t at = out.find("{filter}");
  out.replace(at, 8, filter);
  return out;
}

Result<std::int64_t> ParseInt(const std::optional<std::string>& text, const std::string& what) {
  if (!text) return std::int64_t{0};
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size()) {
    return Status::Error(what + ": expected an integer, got \"" + *text + "\"");
  }
  return value;
}

Result<std::vector<AggregateRow>> ParseAggregate(const std::vector<Row>& rows,
                                                 const TableSpec& spec) {
  std::vector<AggregateRow> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    if (row.size() != spec.label_count + spec.merges.size()) {
      return Status::Error(spec.table + ": unexpected column count " + std::to_string(row.size()));
    }
    AggregateRow parsed;
    for (std::size_t i = 0; i < spec.label_count; ++i) parsed.labels.push_back(row[i].value_or(""));
    for (std::size_t i = spec.label_count; i < row.size(); ++i) {
      Result<std::int64_t> value = ParseInt(row[i], spec.table);
      if (!value.ok()) return value.status();
      parsed.values.push_back(value.value());
    }
    out.push_back(std::move(parsed));
  }
  return out;
}

Result<std::vector<IdRange>> ParseRanges(const std::vector<Row>& rows, const std::string& what) {
  std::vector<IdRange> out;
  for (const Row& row : rows) {
    Result<std::int64_t> first = ParseInt(row.at(0), what);
    Result<std::int64_t> last = ParseInt(row.at(1), what);
    if (!first.ok()) return first.status();
    if (!last.ok()) return last.status();
    out.push_back({first.value(), last.value()});
  }
  return out;
}

// Postgres array literal of ids, e.g. "{3,17,18}".
std::string ArrayLiteral(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

}  // namespace

Result<std::vector<std::int64_t>> ReadVisibleIds(SnapshotReader& reader, const TableSpec& spec,
                                                 const std::string& statement,
                                                 const std::vector<IdRange>& ranges) {
  std::vector<std::int64_t> ids;
  if (ranges.empty()) return ids;
  std::vector<std::int64_t> firsts;
  std::vector<std::int64_t> lasts;
  for (const IdRange& range : ranges) {
    firsts.push_back(range.first);
    lasts.push_back(range.last);
  }
  Result<std::vector<Row>> rows = reader.Query(statement, store_sql::LateIds(spec),
                                               {ArrayLiteral(firsts), ArrayLiteral(lasts)});
  if (!rows.ok()) return rows.status();
  for (const Row& row : rows.value()) {
    Result<std::int64_t> id = ParseInt(row.at(0), spec.table);
    if (!id.ok()) return id.status();
    ids.push_back(id.value());
  }
  return ids;
}

Result<std::vector<AggregateRow>> ReadRowsWithIds(SnapshotReader& reader, const TableSpec& spec,
                                                  const std::string& name,
                                                  const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return std::vector<AggregateRow>{};
  Result<std::vector<Row>> rows =
      reader.Query(spec.table + name, store_sql::RowsWithIds(spec), {ArrayLiteral(ids)});
  if (!rows.ok()) return rows.status();
  return ParseAggregate(rows.value(), spec);
}

Result<std::vector<IdRange>> ReadGaps(SnapshotReader& reader, const TableSpec& spec,
                                      const std::string& name, std::int64_t from, std::int64_t to) {
  Result<std::vector<Row>> rows = reader.Query(spec.table + name, store_sql::Gaps(spec),
                                               {std::to_string(from), std::to_string(to)});
  if (!rows.ok()) return rows.status();
  return ParseRanges(rows.value(), spec.table);
}

namespace {

// The aggregate `sql` returns for ids in (from, to].
Result<std::vector<AggregateRow>> ReadAggregateOfRange(SnapshotReader& reader,
                                                       const TableSpec& spec,
                                                       const std::string& name,
                                                       const std::string& sql, std::int64_t from,
                                                       std::int64_t to) {
  Result<std::vector<Row>> rows =
      reader.Query(spec.table + name, sql, {std::to_string(from), std::to_string(to)});
  if (!rows.ok()) return rows.status();
  return ParseAggregate(rows.value(), spec);
}

}  // namespace

Result<std::vector<AggregateRow>> ReadRowsInRange(SnapshotReader& reader, const TableSpec& spec,
                                                  const std::string& name, std::int64_t from,
                                                  std::int64_t to) {
  return ReadAggregateOfRange(reader, spec, name, store_sql::RowsInRange(spec), from, to);
}

Result<std::vector<AggregateRow>> ReadRowsReferencingRange(SnapshotReader& reader,
                                                           const TableSpec& spec,
                                                           const std::string& name,
                                                           std::int64_t from, std::int64_t to) {
  return ReadAggregateOfRange(reader, spec, name, store_sql::RowsReferencingRange(spec), from, to);
}

namespace store_sql {
namespace {

const std::string& Relation(const TableSpec& spec) {
  return spec.relation.empty() ? spec.table : spec.relation;
}

// `column` in the statement's range ($1, $2].
std::string InRange(const std::string& column) {
  return column + " > $1::bigint AND " + column + " <= $2::bigint";
}

}  // namespace

std::string MaxId(const TableSpec& spec) {
  return "SELECT coalesce(max(" + spec.key + "), 0) FROM " + Relation(spec);
}

// lag() over the ids in the range, read from the primary-key index alone; then the ids after
// the last present one, up to the range's end (all of them when none is present), which lag()
// cannot see: from max(id), one step down the index.
std::string Gaps(const TableSpec& spec) {
  const std::string& id = spec.key;
  const std::string in_range = " FROM " + Relation(spec) + " WHERE " + InRange(id);
  const std::string last = "coalesce(max(" + id + "), $1::bigint)";
  return "SELECT prev + 1, " + id + " - 1 FROM (SELECT " + id + ", lag(" + id +
         ", 1, $1::bigint) OVER (ORDER BY " + id + ") AS prev" + in_range + ") s WHERE " + id +
         " - prev > 1 UNION ALL SELECT " + last + " + 1, $2::bigint" + in_range + " HAVING " +
         last + " < $2::bigint";
}

std::string LateIds(const TableSpec& spec) {
  return "SELECT t." + spec.key +
         " FROM unnest($1::bigint[], $2::bigint[]) AS g(first_id, last_id) "
         "JOIN " +
         Relation(spec) + " t ON t." + spec.key + " BETWEEN g.first_id AND g.last_id";
}

std::string RowsWithIds(const TableSpec& spec) {
  return Fill(spec.aggregate_sql, spec.id_column + " = ANY($1::bigint[])");
}

std::string RowsInRange(const TableSpec& spec) {
  return Fill(spec.aggregate_sql, InRange(spec.id_column));
}

// Both sides bounded: the planner carries the join's equality, not the range, from one column
// to the other, and each index read should stop at the range's end.
std::string RowsReferencingRange(const TableSpec& spec) {
  return Fill(spec.aggregate_sql,
              InRange(spec.reference_column) + " AND " + InRange(spec.referenced_id_column));
}

std::string AllRows(const TableSpec& spec) { return Fill(spec.aggregate_sql, "TRUE"); }

}  // namespace store_sql

namespace {

Result<std::int64_t> ReadMaxId(SnapshotReader& reader, const TableSpec& spec) {
  Result<std::vector<Row>> top = reader.Query(spec.table + "_max_id", store_sql::MaxId(spec), {});
  if (!top.ok()) return top.status();
  return ParseInt(top.value().at(0).at(0), spec.table);
}

// What a count from scratch needs: the whole table's aggregate and the ids missing just below
// `watermark`, which may still be in flight.
struct Baseline {
  std::vector<AggregateRow> totals;
  std::vector<IdRange> recent_gaps;
};

std::int64_t IdsIn(const std::vector<IdRange>& ranges) {
  std::int64_t ids = 0;
  for (const IdRange& range : ranges) ids += range.last - range.first + 1;
  return ids;
}

// With `scan_all_gaps`, the ids missing below the recent ones are read too, when the row count
// shows there are any (ids start at 1): the caller keeps them for a slower re-check.
Result<Baseline> ReadBaseline(SnapshotReader& reader, const TableSpec& spec, std::int64_t watermark,
                              bool scan_all_gaps) {
  const std::int64_t scan_from = std::max<std::int64_t>(0, watermark - kInitialGapScan);
  Result<std::vector<IdRange>> gaps = ReadGaps(reader, spec, "_gaps", scan_from, watermark);
  if (!gaps.ok()) return gaps.status();
  Result<std::vector<Row>> rows = reader.Query(spec.table + "_full", store_sql::AllRows(spec), {});
  if (!rows.ok()) return rows.status();
  Result<std::vector<AggregateRow>> totals = ParseAggregate(rows.value(), spec);
  if (!totals.ok()) return totals.status();
  Baseline baseline{std::move(totals).value(), std::move(gaps).value()};
  std::int64_t held = 0;
  for (const AggregateRow& row : baseline.totals) held += row.values.at(0);
  const std::int64_t held_below = held - (watermark - scan_from - IdsIn(baseline.recent_gaps));
  if (!scan_all_gaps || held_below >= scan_from) return baseline;
  Result<std::vector<IdRange>> older = ReadGaps(reader, spec, "_old_gaps", 0, scan_from);
  if (!older.ok()) return older.status();
  baseline.recent_gaps.insert(baseline.recent_gaps.begin(), older.value().begin(),
                              older.value().end());
  return baseline;
}

Status InitialCount(SnapshotReader& reader, const TableSpec& spec, CounterLedger& ledger,
                    SteadyTime now, bool scan_all_gaps) {
  Result<std::int64_t> watermark = ReadMaxId(reader, spec);
  if (!watermark.ok()) return watermark.status();
  Result<Baseline> baseline = ReadBaseline(reader, spec, watermark.value(), scan_all_gaps);
  if (!baseline.ok()) return baseline.status();
  ledger.ApplyFullCount(baseline.value().totals, now, watermark.value(),
                        baseline.value().recent_gaps);
  return Status::Ok();
}

// The table's highest id is below the watermark: rows were counted that the store no longer
// has, and the ids past its top will be handed out again (an older backup restored with its
// sequence, or the newest rows deleted). The ids below the watermark are no longer the ones
// counted, so counting starts over from this snapshot.
Result<FullCountReport> Rebase(SnapshotReader& reader, const TableSpec& spec, CounterLedger& ledger,
                               std::int64_t top, SteadyTime now, bool scan_all_gaps) {
  Result<Baseline> baseline = ReadBaseline(reader, spec, top, scan_all_gaps);
  if (!baseline.ok()) return baseline.status();
  return ledger.Rebase(baseline.value().totals, now, top, baseline.value().recent_gaps);
}

Result<FullCountReport> Increment(SnapshotReader& reader, const TableSpec& spec,
                                  CounterLedger& ledger, SteadyTime now, bool scan_all_gaps) {
  Result<std::int64_t> top = ReadMaxId(reader, spec);
  if (!top.ok()) return top.status();
  if (top.value() < ledger.watermark()) {
    return Rebase(reader, spec, ledger, top.value(), now, scan_all_gaps);
  }
  IncrementBatch batch;
  batch.new_watermark = top.value();
  const std::string old_watermark = std::to_string(ledger.watermark());
  const std::string new_watermark = std::to_string(batch.new_watermark);
  // Old gaps first: which of the ids missing before are visible now.
  const std::vector<IdRange> gaps = ledger.gaps();
  Result<std::vector<std::int64_t>> found =
      ReadVisibleIds(reader, spec, spec.table + "_late_ids", gaps);
  if (!found.ok()) return found.status();
  batch.found_ids = std::move(found).value();
  Result<std::vector<AggregateRow>> late =
      ReadRowsWithIds(reader, spec, "_late_rows", batch.found_ids);
  if (!late.ok()) return late.status();
  batch.rows = std::move(late).value();

  if (batch.new_watermark > ledger.watermark()) {
    Result<std::vector<Row>> gap_rows =
        reader.Query(spec.table + "_gaps", store_sql::Gaps(spec), {old_watermark, new_watermark});
    if (!gap_rows.ok()) return gap_rows.status();
    Result<std::vector<IdRange>> new_gaps = ParseRanges(gap_rows.value(), spec.table);
    if (!new_gaps.ok()) return new_gaps.status();
    batch.new_gaps = std::move(new_gaps).value();

    Result<std::vector<Row>> rows = reader.Query(
        spec.table + "_new_rows", store_sql::RowsInRange(spec), {old_watermark, new_watermark});
    if (!rows.ok()) return rows.status();
    Result<std::vector<AggregateRow>> parsed = ParseAggregate(rows.value(), spec);
    if (!parsed.ok()) return parsed.status();
    batch.rows.insert(batch.rows.end(), parsed.value().begin(), parsed.value().end());
  }
  FullCountReport report;
  report.ids_skipped = ledger.ApplyIncrement(batch, now);
  return report;
}

Result<FullCountReport> FullCount(SnapshotReader& reader, const TableSpec& spec,
                                  CounterLedger& ledger, SteadyTime now) {
  Result<std::vector<Row>> rows = reader.Query(spec.table + "_full", store_sql::AllRows(spec), {});
  if (!rows.ok()) return rows.status();
  Result<std::vector<AggregateRow>> totals = ParseAggregate(rows.value(), spec);
  if (!totals.ok()) return totals.status();
  return ledger.ApplyFullCount(totals.value(), now);
}

}  // namespace

Result<FullCountReport> ReadIncremental(SnapshotReader& reader, const TableSpec& spec,
                                        CounterLedger& ledger, bool full_count, SteadyTime now,
                                        bool scan_all_gaps) {
  if (!ledger.initialized()) {
    Status status = InitialCount(reader, spec, ledger, now, scan_all_gaps);
    if (!status.ok()) return status;
    return FullCountReport{};
  }
  Result<FullCountReport> increment = Increment(reader, spec, ledger, now, scan_all_gaps);
  if (!increment.ok() || !full_count || increment.value().rebased) return increment;
  Result<FullCountReport> recount = FullCount(reader, spec, ledger, now);
  if (!recount.ok()) return recount;
  FullCountReport report = std::move(recount).value();
  report.ids_skipped = increment.value().ids_skipped;
  return report;
}

void LogRecount(Logger& log, const std::string& collector, const std::string& table,
                const FullCountReport& report) {
  if (report.rebased) {
    log.Warn(
        "the table went back below the ids counted (older backup restored?); counting starts "
        "over from what it holds now and the counters keep their values",
        {{"collector", collector},
         {"table", table},
         {"counted_up_to_id", std::to_string(report.old_watermark)},
         {"highest_id", std::to_string(report.new_watermark)},
         {"rows_no_longer_held", std::to_string(report.rows_deleted)}});
    return;
  }
  if (report.ids_skipped > 0) {
    log.Info(
        "ids jumped past the watermark (id sequence set ahead?); only the ids taken before the "
        "jump are re-checked",
        {{"collector", collector}, {"table", table}, {"ids", std::to_string(report.ids_skipped)}});
  }
  if (report.rows_added > 0) {
    log.Info(
        "full recount found rows the incremental reads missed",
        {{"collector", collector}, {"table", table}, {"rows", std::to_string(report.rows_added)}});
  }
  if (report.rows_deleted > 0) {
    log.Info(
        "full recount found fewer rows than counted (deleted by retention?); counters keep "
        "their values",
        {{"collector", collector},
         {"table", table},
         {"rows", std::to_string(report.rows_deleted)}});
  }
}

}  // namespace outcomes
