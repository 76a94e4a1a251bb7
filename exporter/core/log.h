// Structured logging, one line per event, in logfmt (default) or JSON.
// A Logger is thread-safe: lines from concurrent threads never interleave.
#pragma once

#include <initializer_list>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "exporter/core/status.h"

namespace outcomes {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

Result<LogLevel> ParseLogLevel(std::string_view text);
Result<LogFormat> ParseLogFormat(std::string_view text);

using LogField = std::pair<std::string_view, std::string>;

class Logger {
 public:
  // Writes to `out`, which must outlive the logger.
  Logger(std::ostream& out, LogLevel level, LogFormat format);

  void Debug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kDebug, msg, fields);
  }
  void Info(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kInfo, msg, fields);
  }
  void Warn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kWarn, msg, fields);
  }
  void Error(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kError, msg, fields);
  }
  void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields);

 private:
  std::mutex mutex_;
  std::ostream& out_;
  const LogLevel level_;
  const LogFormat format_;
};

// Quotes a logfmt value when it needs it (spaces, quotes, '=', control characters).
std::string LogfmtValue(std::string_view value);
// Escapes a string for a JSON string literal (without the surrounding quotes).
std::string JsonEscape(std::string_view value);

}  // namespace outcomes
