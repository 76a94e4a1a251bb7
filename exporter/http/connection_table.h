// The limit on an HttpServer's open connections (HttpLimits::max_connections) and the
// eviction that makes room for a new one. Internal to HttpServer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace outcomes {

// A connection the server may close to make room for a new one.
class Evictable {
 public:
  virtual ~Evictable() = default;
  virtual void Evict() = 0;
};

// The open connections and what each is doing, so that a full server makes room by closing the
// one that has held a slot longest without asking for anything. Thread-safe.
class ConnectionTable {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ConnectionTable(std::size_t capacity) : capacity_(capacity) {}

  // Takes a slot for `connection`, which waits for its first request. When every slot is taken,
  // evicts the connection that has waited longest, preferring one that never sent a complete
  // request to an idle kept-alive one. Returns 0 (no slot) when every connection is busy.
  std::uint64_t Admit(const std::weak_ptr<Evictable>& connection);
  // The connection waits for its next request (kept alive).
  void Waiting(std::uint64_t id) { Set(id, State::kNextRequest); }
  // The connection has read a request and is answering it.
  void Busy(std::uint64_t id) { Set(id, State::kBusy); }
  void Remove(std::uint64_t id);

 private:
  // Declared in eviction order.
  enum class State { kFirstRequest, kNextRequest, kBusy };
  struct Entry {
    std::weak_ptr<Evictable> connection;
    State state;
    Clock::time_point since;
  };
  void Set(std::uint64_t id, State state);
  // A linear scan: the table holds max_connections entries, 64 by default.
  std::map<std::uint64_t, Entry>::iterator OldestWaiting();

  const std::size_t capacity_;
  std::mutex mutex_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 1;  // 0 means no slot
};

}  // namespace outcomes
