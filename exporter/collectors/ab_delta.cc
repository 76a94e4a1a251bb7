#include "exporter/collectors/ab_delta.h"

#include "exporter/collectors/ab_rows.h"
#include "exporter/collectors/ab_sql.h"
#include "exporter/counting/new_rows.h"

namespace outcomes::ab_delta {
namespace {

using ab_rows::IdArray;
using ab_rows::ParseBool;
using ab_rows::ParseCount;
using ab_rows::TextArray;

constexpr std::size_t kDeltaColumns = 12;
constexpr std::size_t kHistoryColumns = 6;

// One recommendation the new rows touched, from ab_tests_delta.
struct Touched {
  AbCustomerKey key;
  bool counted = false;  // the recommendation itself was counted before
  AbSums arm;            // what it changes in its arm's sums, but customers and squares
  bool purchased = false;
  std::int64_t revenue_change_cents = 0;  // of its customer's revenue
  std::int64_t id = 0;                    // the recommendation's
};

Result<Touched> ParseTouched(const Row& row) {
  const std::string what = "ab_tests_delta";
  if (row.size() != kDeltaColumns) return Status::Error(what + ": unexpected column count");
  Touched touched;
  touched.key = {row[0].value_or(""), row[1].value_or(""), row[2].value_or("")};
  // counted, purchased now, returned now, purchased before, returned before
  bool flags[5] = {};
  const std::size_t flag_columns[5] = {3, 4, 5, 7, 8};
  std::int64_t values[4] = {};  // revenue added, score sum, score count, id
  const std::size_t value_columns[4] = {6, 9, 10, 11};
  for (std::size_t i = 0; i < 5; ++i) {
    Result<bool> flag = ParseBool(row[flag_columns[i]], what);
    if (!flag.ok()) return flag.status();
    flags[i] = flag.value();
  }
  for (std::size_t i = 0; i < 4; ++i) {
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
  touched.id = values[3];
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
  Result<std::vector<Row>> rows = reader.Query(
      "ab_tests_history", ab_sql::History(sql),
      {TextArray(tests), TextArray(variants), TextArray(customers), params[3], params[5], params[6],
       params[8], params[12], params[13], params[14], params[15]});
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

AbSums& ArmOf(AbTestSums& test, const std::string& variant) {
  return variant == test.variant_a ? test.a : test.b;
}

// Adds what `changes` make of their customers to `tests` (customers, converted customers,
// revenue squares) and lists the customers' new state in `updates`. `held_state` is the state
// before this cycle, `updates` what earlier deltas of the cycle made of it; `seen` the
// recommendations' new watermark.
Status ApplyChanges(SnapshotReader& reader, const AbCustomerState& held_state,
                    const std::map<AbCustomerKey, CustomerChange>& changes,
                    const std::vector<std::string>& params, std::int64_t seen,
                    std::map<std::string, AbTestSums>& tests, AbCustomerUpdates& updates,
                    AbAdvance& report, const SchemaSql& sql) {
  // A customer not held has no counted history while the state is complete and none of its
  // touched recommendations was counted; any other is read back.
  std::vector<AbCustomerKey> unknown;
  for (const auto& [key, change] : changes) {
    if (!updates.contains(key) && held_state.Find(key) == nullptr &&
        (!held_state.complete() || change.any_counted)) {
      unknown.push_back(key);
    }
  }
  Result<std::map<AbCustomerKey, AbCustomer>> read_back = ReadBack(reader, unknown, params, sql);
  if (!read_back.ok()) return read_back.status();
  report.customers_read_back += static_cast<std::int64_t>(unknown.size());
  for (const auto& [key, change] : changes) {
    const auto updated = updates.find(key);
    const AbCustomer* held = updated != updates.end() ? &updated->second : held_state.Find(key);
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
    updates[key] = after;
  }
  return Status::Ok();
}

std::vector<std::string> Params(const std::map<std::string, AbTestSums>& tests,
                                const DeltaRead& read) {
  std::vector<std::string> params = ab_rows::TestArrays(tests);
  for (std::size_t i = 0; i < 3; ++i) {
    params.push_back(std::to_string(read.from[i]));
    params.push_back(std::to_string(read.to[i]));
    params.push_back(IdArray(read.found[i]));
  }
  for (const std::vector<IdRange>& ranges : read.missing) {
    for (std::string& array : RangeParams(ranges)) params.push_back(std::move(array));
  }
  return params;
}

bool AnythingNew(const DeltaRead& read) {
  for (std::size_t i = 0; i < 3; ++i) {
    if (!read.found[i].empty() || read.to[i] > read.from[i]) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<std::int64_t>> Apply(SnapshotReader& reader, const SchemaSql& sql,
                                        const AbCustomerState& held, const DeltaRead& read,
                                        std::map<std::string, AbTestSums>& tests,
                                        AbCustomerUpdates& updates, AbAdvance& report) {
  std::vector<std::int64_t> counted_below;
  if (!AnythingNew(read) || tests.empty()) return counted_below;
  const std::vector<std::string> params = Params(tests, read);
  Result<std::vector<Row>> rows = reader.Query("ab_tests_delta", ab_sql::Delta(sql), params);
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
    if (!touched.value().counted && touched.value().id <= read.from[0]) {
      counted_below.push_back(touched.value().id);
    }
  }
  Status status =
      ApplyChanges(reader, held, changes, params, read.to[0], tests, updates, report, sql);
  if (!status.ok()) return status;
  return counted_below;
}

}  // namespace outcomes::ab_delta
