// One ab_tests_delta statement of the A/B aggregates (AbAggregates): what a set of rows not
// counted before changes in the per-arm sums and in the customers' state. Used for the rows
// past the watermarks with the late ids of the gaps, and for the ids the reconciliation sweep
// finds. Pure functions of their arguments and the snapshot.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "exporter/collectors/ab_aggregates.h"

namespace outcomes::ab_delta {

// The rows one delta counts, per table (recommendations, outcome_events, feedback).
struct DeltaRead {
  std::array<std::int64_t, 3> from = {};  // ids in (from, to] are new
  std::array<std::int64_t, 3> to = {};
  std::array<std::vector<std::int64_t>, 3> found;  // ids at or below `from`, counted now
  // Of recommendations and outcome_events: the ranges at or below `from` not counted yet
  // (the ledger's gaps and the sweep's ranges), sorted and disjoint.
  std::array<std::vector<IdRange>, 2> missing;
};

// Adds what the rows of `read` change to `tests` (tests not in it are left out) and the
// customers' new state to `updates` (a later delta of the cycle reads them before `held`),
// reading back the customers neither holds. Returns the ids at or below from[0] of the
// recommendations it counted: found ones, and committed ones of a missing range that new rows
// touched (they leave the sweep).
Result<std::vector<std::int64_t>> Apply(SnapshotReader& reader, const SchemaSql& sql,
                                        const AbCustomerState& held, const DeltaRead& read,
                                        std::map<std::string, AbTestSums>& tests,
                                        AbCustomerUpdates& updates, AbAdvance& report);

}  // namespace outcomes::ab_delta
