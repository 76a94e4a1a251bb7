// The reconciliation sweep of the A/B aggregates: the ids the ledgers stopped re-checking every
// cycle are re-checked a bounded batch per cycle, through the primary key, and what committed
// since is counted through the same delta as the late ids of the gaps (see docs/EXACTNESS.md).
#include <algorithm>
#include <limits>

#include "exporter/collectors/ab_aggregates.h"
#include "exporter/collectors/ab_delta.h"

namespace outcomes {
namespace {

// The arms the sweep's rows changed: `before` against `after`.
std::vector<AbCorrection> Changed(const std::map<std::string, AbTestSums>& before,
                                  const std::map<std::string, AbTestSums>& after) {
  std::vector<AbCorrection> corrections;
  for (const auto& [test, sums] : after) {
    const auto old = before.find(test);
    if (old == before.end()) continue;
    if (old->second.a != sums.a)
      corrections.push_back({test, sums.variant_a, old->second.a, sums.a});
    if (old->second.b != sums.b)
      corrections.push_back({test, sums.variant_b, old->second.b, sums.b});
  }
  return corrections;
}

}  // namespace

Status AbAggregates::Sweep(SnapshotReader& reader, const std::vector<std::int64_t>& tops,
                           const AbSweepPace& pace, bool whole, Next& next,
                           AbAdvance& report) const {
  ab_delta::DeltaRead read;
  std::vector<std::vector<IdRange>> batches(tables_.size());
  // The recommendations this cycle's delta counted left the sweep before its batch is taken.
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    const GapSweep& sweep = next.sweeps[i];
    batches[i] =
        whole ? AllRanges(sweep)
              : sweep.NextBatch(SweepBatchSize(sweep.ranges(), pace.interval,
                                               pace.reconcile_interval, pace.ranges_per_cycle));
    Result<std::vector<std::int64_t>> found =
        ReadVisibleIds(reader, sweep_tables_[i], sweep_tables_[i].table + "_sweep_ids", batches[i]);
    if (!found.ok()) return found.status();
    read.from[i] = read.to[i] = tops[i];
    read.found[i] = std::move(found).value();
    if (i < read.missing.size()) read.missing[i] = MissingRanges(next.ledgers[i], sweep);
    report.sweep_rows_found += static_cast<std::int64_t>(read.found[i].size());
  }
  const std::map<std::string, AbTestSums> before = next.tests;
  Result<std::vector<std::int64_t>> counted =
      ab_delta::Apply(reader, sql_, customers_, read, next.tests, next.updates, report);
  if (!counted.ok()) return counted.status();
  read.found[0].insert(read.found[0].end(), counted.value().begin(), counted.value().end());
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    if (next.sweeps[i].Done(batches[i], read.found[i])) ++report.sweep_passes_done;
  }
  std::vector<AbCorrection> corrections = Changed(before, next.tests);
  report.corrections.insert(report.corrections.end(), corrections.begin(), corrections.end());
  return Status::Ok();
}

}  // namespace outcomes
