// What the A/B aggregates remember of each customer of an arm (test, variant), so that new
// rows advance the sums without re-reading the customer's history: whether it converted and
// its revenue so far (its share of the revenue squares changes by (r + x)² - r²). At most
// `capacity` customers are held; past it the least recently active are evicted, and a
// customer not held is read back from the store by one index lookup of its history (see
// docs/EXACTNESS.md). Not thread-safe: owned by one AbAggregates.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace outcomes {

// One customer of one arm, as counted.
struct AbCustomer {
  std::int64_t revenue_cents = 0;  // PURCHASED minus RETURNED revenue
  std::int64_t last_seen = 0;      // highest recommendation id when last touched; eviction order
  bool converted = false;          // at least one PURCHASED
};

// Names one customer of one arm.
struct AbCustomerKey {
  std::string test;
  std::string variant;
  std::string customer;
  bool operator<(const AbCustomerKey& other) const {
    return std::tie(test, variant, customer) < std::tie(other.test, other.variant, other.customer);
  }
};

class AbCustomerState {
 public:
  explicit AbCustomerState(std::int64_t capacity) : capacity_(capacity) {}

  std::int64_t capacity() const { return capacity_; }
  std::int64_t size() const { return size_; }
  // True while every customer of the tracked tests is held: a customer not held has then no
  // counted history, and needs no lookup.
  bool complete() const { return complete_; }

  // The customer, or nullptr when not held.
  const AbCustomer* Find(const AbCustomerKey& key) const;
  void Put(const AbCustomerKey& key, const AbCustomer& customer);
  // Forgets a test's customers (the test left the list or is counted again).
  void DropTest(const std::string& test);
  // Forgets every customer; `complete` says whether the state starts out complete.
  void Clear(bool complete);
  // Some customers were not loaded (a backfill past the cap).
  void MarkIncomplete() { complete_ = false; }
  // Past the capacity, evicts the least recently seen customers down to nine tenths of it (so
  // that evictions come in batches, not one per new customer). Returns how many it evicted.
  std::int64_t Evict();

 private:
  using Customers = std::unordered_map<std::string, AbCustomer>;
  // (test, variant) -> customers.
  std::map<std::pair<std::string, std::string>, Customers> arms_;
  std::int64_t capacity_;
  std::int64_t size_ = 0;
  bool complete_ = true;
};

}  // namespace outcomes
