// A real session that forwards every call to the one it wraps: a test derives from it and
// overrides InSnapshot to watch or time what a collector reads.
#pragma once

#include <memory>
#include <utility>

#include "exporter/store/session.h"

namespace outcomes::testing_support {

class ForwardingSession : public StoreSession {
 public:
  explicit ForwardingSession(std::unique_ptr<StoreSession> inner) : inner_(std::move(inner)) {}
  bool connected() const override { return inner_->connected(); }
  Status Connect() override { return inner_->Connect(); }
  void Disconnect() override { inner_->Disconnect(); }
  void Cancel() override { inner_->Cancel(); }
  std::vector<std::pair<std::string, double>> QueryDurations() const override {
    return inner_->QueryDurations();
  }
  Status InSnapshot(const std::function<Status(SnapshotReader&)>& body) override {
    return inner_->InSnapshot(body);
  }

 protected:
  StoreSession& inner() { return *inner_; }

 private:
  std::unique_ptr<StoreSession> inner_;
};

}  // namespace outcomes::testing_support
