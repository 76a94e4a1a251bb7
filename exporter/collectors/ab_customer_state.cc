#include "exporter/collectors/ab_customer_state.h"

#include <algorithm>
#include <vector>

namespace outcomes {

const AbCustomer* AbCustomerState::Find(const AbCustomerKey& key) const {
  const auto arm = arms_.find({key.test, key.variant});
  if (arm == arms_.end()) return nullptr;
  const auto customer = arm->second.find(key.customer);
  return customer == arm->second.end() ? nullptr : &customer->second;
}

void AbCustomerState::Put(const AbCustomerKey& key, const AbCustomer& customer) {
  auto [at, inserted] = arms_[{key.test, key.variant}].insert_or_assign(key.customer, customer);
  if (inserted) ++size_;
}

void AbCustomerState::DropTest(const std::string& test) {
  for (auto arm = arms_.lower_bound({test, ""}); arm != arms_.end() && arm->first.first == test;) {
    size_ -= static_cast<std::int64_t>(arm->second.size());
    arm = arms_.erase(arm);
  }
}

void AbCustomerState::Clear(bool complete) {
  arms_.clear();
  size_ = 0;
  complete_ = complete;
}

std::int64_t AbCustomerState::Evict() {
  if (size_ <= capacity_) return 0;
  const std::int64_t evict = size_ - (capacity_ - capacity_ / 10);
  std::vector<std::int64_t> seen;
  seen.reserve(static_cast<std::size_t>(size_));
  for (const auto& [arm, customers] : arms_) {
    for (const auto& [name, customer] : customers) seen.push_back(customer.last_seen);
  }
  // The evict-th least recent: everyone seen before it goes, and of those seen exactly then
  // as many as make up the count.
  std::nth_element(seen.begin(), seen.begin() + (evict - 1), seen.end());
  const std::int64_t threshold = seen[static_cast<std::size_t>(evict - 1)];
  std::int64_t at_threshold = evict - std::count_if(seen.begin(), seen.end(),
                                                    [&](std::int64_t s) { return s < threshold; });
  for (auto& [arm, customers] : arms_) {
    std::erase_if(customers, [&](const auto& entry) {
      if (entry.second.last_seen < threshold) return true;
      if (entry.second.last_seen > threshold || at_threshold == 0) return false;
      --at_threshold;
      return true;
    });
  }
  std::erase_if(arms_, [](const auto& entry) { return entry.second.empty(); });
  size_ -= evict;
  complete_ = false;
  return evict;
}

}  // namespace outcomes
