#include "exporter/probe/transport.h"

#include <charconv>

namespace outcomes {

Result<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl parsed;
  std::string rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    parsed.https = true;
    rest = url.substr(8);
  } else {
    return Status::Error("URL \"" + url + "\" must start with http:// or https://");
  }
  const std::size_t slash = rest.find_first_of("/?");
  std::string authority = rest.substr(0, slash);
  parsed.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (parsed.target.front() == '?') parsed.target = "/" + parsed.target;
  if (authority.find('@') != std::string::npos) {
    // The URL is not repeated: its userinfo may hold a password.
    return Status::Error(
        "credentials in URLs are not supported (the URL's user:password@ part); "
        "use headers or bearer_token_file");
  }
  parsed.port = parsed.https ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) return Status::Error("URL \"" + url + "\": unterminated [");
    parsed.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      parsed.port = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    parsed.host = authority.substr(0, colon);
    if (colon != std::string::npos) parsed.port = authority.substr(colon + 1);
  }
  if (parsed.host.empty()) return Status::Error("URL \"" + url + "\" has no host");
  // from_chars, not stoul: a port of 20 digits must be an error value, not an exception.
  unsigned port = 0;
  const char* port_end = parsed.port.data() + parsed.port.size();
  const auto [end, error] = std::from_chars(parsed.port.data(), port_end, port);
  if (parsed.port.empty() || error != std::errc() || end != port_end || port == 0 || port > 65535) {
    // The port, not the URL: the place in the config says which URL it is.
    return Status::Error("URL port \"" + parsed.port + "\" is not a number from 1 to 65535");
  }
  return parsed;
}

const char* ProbeFailureName(ProbeFailure failure) {
  switch (failure) {
    case ProbeFailure::kNone: return "";
    case ProbeFailure::kTimeout: return "timeout";
    case ProbeFailure::kConnect: return "connect";
    case ProbeFailure::kTls: return "tls";
    case ProbeFailure::kHttpStatus: return "http_status";
    case ProbeFailure::kBodyTooLarge: return "body_too_large";
    case ProbeFailure::kParse: return "parse";
    case ProbeFailure::kUnexpectedBody: return "unexpected_body";
  }
  return "";
}

const std::vector<ProbeFailure>& AllProbeFailures() {
  static const std::vector<ProbeFailure> kAll = {
      ProbeFailure::kTimeout,       ProbeFailure::kConnect,      ProbeFailure::kTls,
      ProbeFailure::kHttpStatus,    ProbeFailure::kBodyTooLarge, ProbeFailure::kParse,
      ProbeFailure::kUnexpectedBody};
  return kAll;
}

}  // namespace outcomes
