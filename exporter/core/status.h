// Status and Result<T>: errors as values across module boundaries.
// Exceptions from libraries stay inside their adapters, which return one of these with a
// message that names the subject and the reason. Both types are plain values (not shared).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace outcomes {

class [[nodiscard]] Status {
 public:
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !message_.has_value(); }
  // The error text; empty when ok().
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }

 private:
  Status() = default;
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  Result(Status error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const std::string& error() const { return error_.message(); }
  Status status() const { return ok() ? Status::Ok() : error_; }

 private:
  std::optional<T> value_;
  Status error_ = Status::Ok();
};

}  // namespace outcomes
