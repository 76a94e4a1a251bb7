#include "exporter/config/error_list.h"

#include <algorithm>
#include <sstream>
#include <tuple>

namespace outcomes {

void ErrorList::Add(const YAML::Mark& mark, const std::string& message) {
  std::ostringstream line;
  line << source_;
  if (!mark.is_null()) line << ":" << mark.line + 1 << ":" << mark.column + 1;
  line << ": " << message;
  errors_.push_back({mark.is_null() ? 0 : mark.line, mark.is_null() ? 0 : mark.column, line.str()});
}

std::string ErrorList::Joined() const {
  std::vector<Entry> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  std::string out;
  for (const Entry& error : sorted) {
    if (!out.empty()) out += '\n';
    out += error.text;
  }
  return out;
}

}  // namespace outcomes
