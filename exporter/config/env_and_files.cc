#include "exporter/config/env_and_files.h"

#include <cstdlib>
#include <fstream>

namespace outcomes {

std::optional<std::string> ReadFirstLine(const std::string& path, std::string& error) {
  std::ifstream file(path);
  if (!file) {
    error = "cannot read \"" + path + "\"";
    return std::nullopt;
  }
  std::string line;
  std::getline(file, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) {
    error = "\"" + path + "\" is empty";
    return std::nullopt;
  }
  return line;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read-only
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<std::string> ExpandEnv(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      const std::size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        // The value is not repeated: it may be a DSN with a password.
        return Status::Error("unterminated ${ (write $$ for a literal $)");
      }
      const std::string name(text.substr(i + 2, close - i - 2));
      if (name.empty()) return Status::Error("empty variable name in ${}");
      std::optional<std::string> value = env(name);
      if (!value) return Status::Error("environment variable " + name + " is not set");
      out += *value;
      i = close;
      continue;
    }
    out += '$';
  }
  return out;
}

}  // namespace outcomes
