#include "exporter/core/dsn.h"

namespace outcomes {
namespace {

bool IsUri(std::string_view dsn) {
  return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

// Finds the password of a URI: the part between ':' and '@' of the userinfo.
std::pair<std::size_t, std::size_t> UriPasswordSpan(std::string_view dsn) {
  const std::size_t scheme_end = dsn.find("://");
  const std::size_t authority_start = scheme_end + 3;
  const std::size_t authority_end = dsn.find_first_of("/?#", authority_start);
  const std::string_view authority = dsn.substr(
      authority_start, authority_end == std::string_view::npos ? std::string_view::npos
                                                               : authority_end - authority_start);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return {std::string_view::npos, 0};
  const std::size_t colon = authority.find(':');
  if (colon == std::string_view::npos || colon > at) return {std::string_view::npos, 0};
  return {authority_start + colon + 1, at - colon - 1};
}

// Finds the value of `password=` in a key=value string, quoted or not.
std::pair<std::size_t, std::size_t> KeyValuePasswordSpan(std::string_view dsn) {
  std::size_t pos = 0;
  while ((pos = dsn.find("password", pos)) != std::string_view::npos) {
    const bool at_word_start = pos == 0 || dsn[pos - 1] == ' ' || dsn[pos - 1] == '\t';
    std::size_t cursor = pos + 8;
    while (cursor < dsn.size() && dsn[cursor] == ' ') ++cursor;
    if (!at_word_start || cursor >= dsn.size() || dsn[cursor] != '=') {
      pos += 8;
      continue;
    }
    ++cursor;
    while (cursor < dsn.size() && dsn[cursor] == ' ') ++cursor;
    const std::size_t start = cursor;
    if (cursor < dsn.size() && dsn[cursor] == '\'') {
      ++cursor;
      while (cursor < dsn.size() && dsn[cursor] != '\'') {
        if (dsn[cursor] == '\\') ++cursor;
        ++cursor;
      }
      return {start, std::min(cursor + 1, dsn.size()) - start};
    }
    while (cursor < dsn.size() && dsn[cursor] != ' ') ++cursor;
    return {start, cursor - start};
  }
  return {std::string_view::npos, 0};
}

std::pair<std::size_t, std::size_t> PasswordSpan(std::string_view dsn) {
  return IsUri(dsn) ? UriPasswordSpan(dsn) : KeyValuePasswordSpan(dsn);
}

std::string Unquote(std::string_view value) {
  if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
    std::string out;
    for (std::size_t i = 1; i + 1 < value.size(); ++i) {
      if (value[i] == '\\' && i + 2 < value.size()) ++i;
      out += value[i];
    }
    return out;
  }
  return std::string(value);
}

}  // namespace

std::string RedactDsn(std::string_view dsn) {
  const auto [start, length] = PasswordSpan(dsn);
  std::string out(dsn);
  if (start != std::string_view::npos && length > 0) out.replace(start, length, "xxxxx");
  return out;
}

std::string ScrubSecret(std::string text, std::string_view dsn) {
  const auto [start, length] = PasswordSpan(dsn);
  if (start == std::string_view::npos || length == 0) return text;
  const std::string password = Unquote(dsn.substr(start, length));
  if (password.empty()) return text;
  std::size_t pos = 0;
  while ((pos = text.find(password, pos)) != std::string::npos) {
    text.replace(pos, password.size(), "xxxxx");
    pos += 5;
  }
  return text;
}

std::string WithConnParams(std::string_view dsn,
                           const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out(dsn);
  if (IsUri(dsn)) {
    for (const auto& [key, value] : params) {
      if (out.find(key + "=") != std::string::npos) continue;
      out += (out.find('?') == std::string::npos ? "?" : "&");
      out.append(key).append("=").append(value);
    }
    return out;
  }
  for (const auto& [key, value] : params) {
    if (out.find(key + "=") != std::string::npos || out.find(key + " =") != std::string::npos) {
      continue;
    }
    if (!out.empty()) out += ' ';
    out.append(key).append("='").append(value).append("'");
  }
  return out;
}

}  // namespace outcomes
