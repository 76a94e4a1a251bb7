#include "exporter/http/connection_table.h"

#include <utility>

namespace outcomes {

std::uint64_t ConnectionTable::Admit(const std::weak_ptr<Evictable>& connection) {
  std::shared_ptr<Evictable> victim;
  std::uint64_t id = 0;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.size() >= capacity_) {
      const auto oldest = OldestWaiting();
      if (oldest == entries_.end()) return 0;
      victim = oldest->second.connection.lock();
      entries_.erase(oldest);
    }
    id = next_id_++;
    entries_.emplace(id, Entry{connection, State::kFirstRequest, Clock::now()});
  }
  if (victim) victim->Evict();
  return id;
}

void ConnectionTable::Remove(std::uint64_t id) {
  const std::lock_guard<std::mutex> lock(mutex_);
  entries_.erase(id);
}

void ConnectionTable::Set(std::uint64_t id, State state) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (const auto found = entries_.find(id); found != entries_.end()) {
    found->second.state = state;
    found->second.since = Clock::now();
  }
}

std::map<std::uint64_t, ConnectionTable::Entry>::iterator ConnectionTable::OldestWaiting() {
  auto oldest = entries_.end();
  for (auto entry = entries_.begin(); entry != entries_.end(); ++entry) {
    if (entry->second.state == State::kBusy) continue;
    if (oldest == entries_.end() || std::pair(entry->second.state, entry->second.since) <
                                        std::pair(oldest->second.state, oldest->second.since)) {
      oldest = entry;
    }
  }
  return oldest;
}

}  // namespace outcomes
