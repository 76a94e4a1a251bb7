#include "exporter/core/duration.h"

#include <array>
#include <cstdint>
#include <limits>

namespace outcomes {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t millis;
};

// Longest suffixes first so that "ms" is not read as "m".
constexpr std::array<Unit, 7> kUnits = {{{"ms", 1},
                                         {"s", 1000},
                                         {"m", 60'000},
                                         {"h", 3'600'000},
                                         {"d", 86'400'000},
                                         {"w", 604'800'000},
                                         {"y", 31'536'000'000}}};

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return Status::Error("empty duration");
  if (text == "0") return Duration(0);
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t digits_start = pos;
    std::int64_t number = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (number > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        return Status::Error("duration \"" + std::string(text) + "\" is too large");
      }
      number = number * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == digits_start) {
      return Status::Error("invalid duration \"" + std::string(text) +
                           "\": expected a number followed by a unit (ms, s, m, h, d, w, y)");
    }
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (text.substr(pos, candidate.suffix.size()) == candidate.suffix) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) {
      return Status::Error("invalid duration \"" + std::string(text) +
                           "\": missing or unknown unit (use ms, s, m, h, d, w, y)");
    }
    pos += unit->suffix.size();
    if (number > (std::numeric_limits<std::int64_t>::max() - total) / unit->millis) {
      return Status::Error("duration \"" + std::string(text) + "\" is too large");
    }
    total += number * unit->millis;
  }
  return Duration(total);
}

std::string FormatDuration(Duration duration) {
  std::int64_t millis = duration.count();
  if (millis == 0) return "0s";
  std::string out;
  if (millis < 0) {
    out = "-";
    millis = -millis;
  }
  // Largest units first; "ms" is last in this walk.
  constexpr std::array<Unit, 5> kOrder = {
      {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}}};
  for (const Unit& unit : kOrder) {
    if (millis >= unit.millis) {
      out += std::to_string(millis / unit.millis);
      out += unit.suffix;
      millis %= unit.millis;
    }
  }
  return out;
}

}  // namespace outcomes
