#include "exporter/core/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace outcomes {
namespace {

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

// RFC 3339 UTC with milliseconds, as the Go exporters print it.
std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[96];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return Status::Error("unknown log level \"" + std::string(text) +
                       "\" (want debug, info, warn or error)");
}

Result<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "logfmt") return LogFormat::kLogfmt;
  if (text == "json") return LogFormat::kJson;
  return Status::Error("unknown log format \"" + std::string(text) + "\" (want logfmt or json)");
}

std::string LogfmtValue(std::string_view value) {
  bool needs_quotes = value.empty();
  for (const char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) return std::string(value);
  // A quoted logfmt value escapes exactly as a JSON string does.
  return "\"" + JsonEscape(value) + "\"";
}

std::string JsonEscape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "\\u%04x", static_cast<unsigned>(c));
          out += hex;
        } else {
          out += c;
        }
    }
  }
  return out;
}

Logger::Logger(std::ostream& out, LogLevel level, LogFormat format)
    : out_(out), level_(level), format_(format) {}

void Logger::Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (level < level_) return;
  std::string line;
  if (format_ == LogFormat::kJson) {
    line = R"({"ts":")" + Timestamp() + R"(","level":")" + std::string(LevelName(level)) +
           R"(","msg":")" + JsonEscape(msg) + "\"";
    for (const auto& [key, value] : fields) {
      line += ",\"" + JsonEscape(key) + "\":\"" + JsonEscape(value) + "\"";
    }
    line += "}\n";
  } else {
    line = "ts=" + Timestamp() + " level=" + std::string(LevelName(level)) +
           " msg=" + LogfmtValue(msg);
    for (const auto& [key, value] : fields) {
      line += " " + std::string(key) + "=" + LogfmtValue(value);
    }
    line += "\n";
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  out_ << line << std::flush;
}

}  // namespace outcomes
