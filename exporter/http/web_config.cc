#include "exporter/http/web_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <tuple>

#include "exporter/config/error_list.h"
#include "exporter/http/tls_context.h"

namespace outcomes {
namespace {

// "$2b$12$" + 22 characters of salt + 31 of hash, in bcrypt's base64 alphabet.
bool IsBcryptHash(const std::string& hash) {
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/';
  });
}

// strerror's text, without strerror's shared buffer.
std::string SystemError(int code) {
  return std::error_code(code, std::generic_category()).message();
}

bool ParseInteger(const std::string& text, std::int64_t& out) {
  if (text.empty()) return false;
  std::size_t used = 0;
  try {
    out = std::stoll(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

// Go's time.ParseDuration: a sign, then numbers (decimals allowed) each with a unit among ns,
// us (or µs), ms, s, m and h; "0" alone needs none.
std::optional<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  static const std::vector<std::pair<std::string_view, double>> kUnits = {
      {"ns", 1},   {"us", 1e3}, {"\u00b5s", 1e3}, {"\u03bcs", 1e3},
      {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},      {"h", 3600e9}};
  double sign = 1;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    if (text.front() == '-') sign = -1;
    text.remove_prefix(1);
  }
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return std::nullopt;
  double total = 0;
  while (!text.empty()) {
    const std::size_t digits = text.find_first_not_of("0123456789.");
    if (digits == 0 || digits == std::string_view::npos) return std::nullopt;
    const std::string number(text.substr(0, digits));
    if (std::count(number.begin(), number.end(), '.') > 1 || number == ".") return std::nullopt;
    text.remove_prefix(digits);
    const std::size_t unit_end = text.find_first_of("0123456789.");
    const std::string_view unit = text.substr(0, unit_end);
    const auto found = std::find_if(kUnits.begin(), kUnits.end(),
                                    [&](const auto& known) { return known.first == unit; });
    if (found == kUnits.end()) return std::nullopt;
    total += std::stod(number) * found->second;
    text.remove_prefix(unit.size());
  }
  if (total > 9.2e18) return std::nullopt;  // beyond Go's int64 nanoseconds
  return std::chrono::nanoseconds(static_cast<std::int64_t>(sign * total));
}

// Reads one mapping of the web config as the exporter-toolkit's strict YAML decoding does:
// unknown and duplicate keys are errors, values are taken literally (no ${VAR} expansion).
class WebMapReader {
 public:
  WebMapReader(const YAML::Node& node, std::string path, ErrorList& errors)
      : node_(node), path_(std::move(path)), errors_(errors) {
    if (!node_.IsMap()) {
      errors_.Add(node_.Mark(), path_ + ": expected a mapping");
      valid_ = false;
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : node_) {
      const auto key = entry.first.as<std::string>();
      if (!seen.insert(key).second) {
        errors_.Add(entry.first.Mark(), Qualified(key) + ": duplicate key");
      }
    }
  }

  std::string Qualified(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

  // The node for `key`, or an undefined node; marks the key as known.
  YAML::Node Get(const std::string& key) {
    known_.insert(key);
    if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
    for (const auto& entry : node_) {
      if (entry.first.as<std::string>() == key) return entry.second;
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  void String(const std::string& key, std::string& out, bool required = false) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) {
      if (required) errors_.Add(node_.Mark(), Qualified(key) + ": required");
      return;
    }
    if (!value.IsScalar()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a string");
      return;
    }
    out = value.Scalar();
  }

  // A boolean as YAML 1.1, which the exporter-toolkit's decoder reads, spells it.
  void Bool(const std::string& key, bool& out) {
    static const std::set<std::string> kTrue = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                                "on",   "On",   "ON",   "y",   "Y"};
    static const std::set<std::string> kFalse = {"false", "False", "FALSE", "no", "No", "NO",
                                                 "off",   "Off",   "OFF",   "n",  "N"};
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (value.IsScalar() && kTrue.contains(value.Scalar())) {
      out = true;
    } else if (value.IsScalar() && kFalse.contains(value.Scalar())) {
      out = false;
    } else {
      errors_.Add(value.Mark(), Qualified(key) + ": expected true or false");
    }
  }

  void Int64(const std::string& key, std::int64_t& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    std::int64_t parsed = 0;
    if (!value.IsScalar() || !ParseInteger(value.Scalar(), parsed)) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected an integer");
      return;
    }
    out = parsed;
  }

  // A Go duration ("1s", "1m30s", "250ms"), or an integer of nanoseconds, as Go's decoder reads
  // a time.Duration.
  void GoDurationField(const std::string& key, std::chrono::nanoseconds& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    std::int64_t nanoseconds = 0;
    if (value.IsScalar() && ParseInteger(value.Scalar(), nanoseconds)) {
      out = std::chrono::nanoseconds(nanoseconds);
      return;
    }
    std::optional<std::chrono::nanoseconds> parsed;
    if (value.IsScalar()) parsed = ParseGoDuration(value.Scalar());
    if (!parsed) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a duration such as 1s or 250ms");
      return;
    }
    out = *parsed;
  }

  // A list of strings, in file order.
  void StringList(const std::string& key, std::vector<std::string>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsSequence()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a list of strings");
      return;
    }
    for (const auto& item : value) {
      if (!item.IsScalar()) {
        errors_.Add(item.Mark(), Qualified(key) + ": expected a string");
        continue;
      }
      out.push_back(item.Scalar());
    }
  }

  bool Has(const std::string& key) {
    const YAML::Node value = Get(key);
    return value.IsDefined() && !value.IsNull();
  }

  YAML::Mark Mark() const { return node_.Mark(); }

  // A mapping of strings, in file order.
  void StringMap(const std::string& key, std::vector<std::pair<std::string, std::string>>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsMap()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a mapping of strings");
      return;
    }
    for (const auto& entry : value) {
      if (!entry.second.IsScalar()) {
        errors_.Add(entry.second.Mark(),
                    Qualified(key) + "." + entry.first.Scalar() + ": expected a string");
        continue;
      }
      out.emplace_back(entry.first.Scalar(), entry.second.Scalar());
    }
  }

  // A reader for the nested mapping at `key`, or nullopt when the key is absent.
  std::optional<WebMapReader> Nested(const std::string& key) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return std::nullopt;
    return WebMapReader(value, Qualified(key), errors_);
  }

  // Reports the keys nobody asked for; call after reading every known field.
  void RejectUnknownKeys() {
    if (!valid_) return;
    for (const auto& entry : node_) {
      const auto key = entry.first.as<std::string>();
      if (!known_.contains(key)) {
        errors_.Add(entry.first.Mark(), Qualified(key) + ": unknown key");
      }
    }
  }

  YAML::Mark MarkOf(const std::string& key) {
    const YAML::Node value = Get(key);
    return value.IsDefined() ? value.Mark() : node_.Mark();
  }

 private:
  YAML::Node node_;
  std::string path_;
  ErrorList& errors_;
  std::set<std::string> known_;
  bool valid_ = true;
};

// The exporter-toolkit's TLS version names; the older two are known, and refused below.
const std::vector<std::string> kTlsVersions = {"TLS10", "TLS11", "TLS12", "TLS13"};

int VersionRank(const std::string& name) {
  return static_cast<int>(std::find(kTlsVersions.begin(), kTlsVersions.end(), name) -
                          kTlsVersions.begin());
}

void CheckVersions(WebMapReader& tls, const WebConfig& web, ErrorList& errors) {
  for (const auto& [key, version] :
       {std::pair{"min_version", &web.min_version}, {"max_version", &web.max_version}}) {
    const std::string qualified = tls.Qualified(key);
    if (VersionRank(*version) == static_cast<int>(kTlsVersions.size())) {
      errors.Add(tls.MarkOf(key), qualified + ": unknown TLS version: " + *version);
    } else if (VersionRank(*version) < VersionRank("TLS12")) {
      errors.Add(tls.MarkOf(key), qualified + ": want TLS12 or TLS13 (" + *version +
                                      " is not offered: OpenSSL refuses TLS 1.0 and 1.1 at its "
                                      "default security level)");
    }
  }
  if (VersionRank(web.max_version) < VersionRank(web.min_version)) {
    errors.Add(tls.MarkOf("max_version"), tls.Qualified("max_version") + ": " + web.max_version +
                                              " is below min_version " + web.min_version);
  }
}

void CheckCipherSuitesAndCurves(WebMapReader& tls, const WebConfig& web, ErrorList& errors) {
  bool has_tls12_suite = false;
  for (const std::string& name : web.cipher_suites) {
    const std::optional<std::string> openssl = OpenSslCipherName(name);
    if (!openssl) {
      errors.Add(tls.MarkOf("cipher_suites"), tls.Qualified("cipher_suites") +
                                                  ": unknown cipher: " + name +
                                                  " (want a name of Go's tls.CipherSuites())");
    } else if (!openssl->empty()) {
      has_tls12_suite = true;
    }
  }
  if (!web.cipher_suites.empty() && !has_tls12_suite && web.min_version != "TLS13") {
    // Go would accept this and fail every TLS 1.2 handshake.
    errors.Add(tls.MarkOf("cipher_suites"),
               tls.Qualified("cipher_suites") +
                   ": only TLS 1.3 suites, which are not configurable, so TLS 1.2 clients "
                   "would find none; add TLS 1.2 suites or set min_version: TLS13");
  }
  for (const std::string& name : web.curve_preferences) {
    if (!OpenSslGroupName(name)) {
      errors.Add(tls.MarkOf("curve_preferences"),
                 tls.Qualified("curve_preferences") + ": unknown curve: " + name +
                     " (want X25519, CurveP256, CurveP384 or CurveP521)");
    }
  }
}

void CheckClientAuth(WebMapReader& tls, WebConfig& web, ErrorList& errors) {
  // "" is what Go reads from an explicit empty value; RequireClientCert is the older name.
  if (web.client_auth_type.empty()) web.client_auth_type = "NoClientCert";
  if (web.client_auth_type == "RequireClientCert") web.client_auth_type = "RequireAnyClientCert";
  static const std::set<std::string> kClientAuthTypes = {
      "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
      "RequireAndVerifyClientCert"};
  if (!kClientAuthTypes.contains(web.client_auth_type)) {
    errors.Add(tls.MarkOf("client_auth_type"),
               "tls_server_config.client_auth_type: want NoClientCert, RequestClientCert, "
               "RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert");
  }
  const bool has_ca = !web.client_ca_file.empty() || !web.client_ca.empty();
  const bool verifies = web.client_auth_type == "VerifyClientCertIfGiven" ||
                        web.client_auth_type == "RequireAndVerifyClientCert";
  if (verifies && !has_ca) {
    errors.Add(tls.MarkOf("client_auth_type"),
               "tls_server_config.client_ca_file: required to verify client certificates");
  }
  if (has_ca && web.client_auth_type == "NoClientCert") {
    // A CA with no policy would look like mutual TLS and check nothing.
    errors.Add(tls.MarkOf(web.client_ca.empty() ? "client_ca_file" : "client_ca"),
               "tls_server_config.client_auth_type: set it (RequireAndVerifyClientCert for "
               "mutual TLS) when client_ca_file is given");
  }
  if (web.client_allowed_sans) {
    const bool requires_certificate = web.client_auth_type == "RequireAnyClientCert" ||
                                      web.client_auth_type == "RequireAndVerifyClientCert";
    if (!requires_certificate) {
      errors.Add(tls.MarkOf("client_allowed_sans"),
                 "tls_server_config.client_allowed_sans: requires client_auth_type to be one of "
                 "RequireAnyClientCert or RequireAndVerifyClientCert");
    }
    if (web.client_allowed_sans->empty()) {
      errors.Add(tls.MarkOf("client_allowed_sans"),
                 "tls_server_config.client_allowed_sans: empty, which would refuse every client; "
                 "list the SANs or remove the key");
    }
  }
}

// Half-written sections are refused: any certificate, key, CA or client_auth_type turns TLS
// on, and then a certificate and a key must be there, once each.
void CheckCertificateAndKey(WebMapReader& tls, const WebConfig& web, bool auth_type_given,
                            ErrorList& errors) {
  for (const auto& [inline_key, file_key, inline_value, file_value] :
       {std::tuple{"cert", "cert_file", &web.cert, &web.cert_file},
        {"key", "key_file", &web.key, &web.key_file},
        {"client_ca", "client_ca_file", &web.client_ca, &web.client_ca_file}}) {
    if (!inline_value->empty() && !file_value->empty()) {
      errors.Add(tls.MarkOf(inline_key), std::string("tls_server_config: at most one of ") +
                                             inline_key + " and " + file_key);
    }
  }
  const bool enabled = web.tls() || !web.key.empty() || !web.key_file.empty() ||
                       !web.client_ca.empty() || !web.client_ca_file.empty() || auth_type_given;
  if (!enabled) return;
  if (web.cert.empty() && web.cert_file.empty()) {
    errors.Add(tls.Mark(), "tls_server_config: missing one of cert or cert_file");
  }
  if (web.key.empty() && web.key_file.empty()) {
    errors.Add(tls.Mark(), "tls_server_config: missing one of key or key_file");
  }
}

void CheckFilesReadable(WebMapReader& tls, const WebConfig& web, ErrorList& errors) {
  for (const auto& [key, file_path] : {std::pair{"cert_file", &web.cert_file},
                                       {"key_file", &web.key_file},
                                       {"client_ca_file", &web.client_ca_file}}) {
    if (file_path->empty()) continue;
    std::string problem;
    std::error_code error;  // the overload that throws would end a reload on ENAMETOOLONG
    if (std::filesystem::is_directory(*file_path, error)) {
      problem = "is a directory";
    } else if (!std::ifstream(*file_path)) {
      problem = SystemError(errno);
    }
    if (!problem.empty()) {
      errors.Add(tls.MarkOf(key), std::string("tls_server_config.") + key + ": cannot read \"" +
                                      *file_path + "\": " + problem);
    }
  }
}

void ReadTlsServerConfig(WebMapReader& tls, const std::filesystem::path& folder, WebConfig& web,
                         ErrorList& errors) {
  tls.String("cert", web.cert);
  tls.String("key", web.key);
  tls.String("client_ca", web.client_ca);
  tls.String("cert_file", web.cert_file);
  tls.String("key_file", web.key_file);
  tls.String("client_ca_file", web.client_ca_file);
  tls.String("client_auth_type", web.client_auth_type);
  // As Go reads it, an explicit empty value is no value.
  const bool auth_type_given = tls.Has("client_auth_type") && !web.client_auth_type.empty();
  if (tls.Has("client_allowed_sans")) {
    web.client_allowed_sans.emplace();
    tls.StringList("client_allowed_sans", *web.client_allowed_sans);
  }
  tls.StringList("cipher_suites", web.cipher_suites);
  tls.Bool("prefer_server_cipher_suites", web.prefer_server_cipher_suites);
  tls.StringList("curve_preferences", web.curve_preferences);
  tls.String("min_version", web.min_version);
  tls.String("max_version", web.max_version);
  tls.RejectUnknownKeys();
  // As in the exporter-toolkit: relative paths are relative to the web config's folder.
  for (std::string* file_path : {&web.cert_file, &web.key_file, &web.client_ca_file}) {
    if (!file_path->empty() && std::filesystem::path(*file_path).is_relative()) {
      *file_path = (folder / *file_path).string();
    }
  }
  CheckCertificateAndKey(tls, web, auth_type_given, errors);
  CheckClientAuth(tls, web, errors);
  CheckVersions(tls, web, errors);
  CheckCipherSuitesAndCurves(tls, web, errors);
  CheckFilesReadable(tls, web, errors);
}

// The exporter-toolkit lets these headers alone be set, to keep the Prometheus ecosystem
// consistent; some take only the listed values (compared exactly).
const std::vector<std::pair<std::string, std::vector<std::string>>> kSettableHeaders = {
    {"Strict-Transport-Security", {}},
    {"X-Content-Type-Options", {"nosniff"}},
    {"X-Frame-Options", {"deny", "sameorigin"}},
    {"X-XSS-Protection", {}},
    {"Content-Security-Policy", {}},
};

std::string QuotedList(const std::vector<std::string>& values) {
  std::string out = "[";
  for (const std::string& value : values) {
    if (out.size() > 1) out += ' ';
    out += '"' + value + '"';
  }
  return out + "]";
}

void ReadHttpServerConfig(WebMapReader& http, WebConfig& web, ErrorList& errors) {
  http.Bool("http2", web.http2);
  http.StringMap("headers", web.headers);
  http.RejectUnknownKeys();
  for (const auto& header : web.headers) {
    const std::string& name = header.first;
    const std::string& value = header.second;
    const auto settable = std::find_if(kSettableHeaders.begin(), kSettableHeaders.end(),
                                       [&](const auto& known) { return known.first == name; });
    const std::string where = "http_server_config.headers." + name;
    if (settable == kSettableHeaders.end()) {
      errors.Add(http.MarkOf("headers"), where + ": HTTP header \"" + name +
                                             "\" can not be configured (settable: "
                                             "Strict-Transport-Security, X-Content-Type-Options, "
                                             "X-Frame-Options, X-XSS-Protection, "
                                             "Content-Security-Policy)");
      continue;
    }
    const std::vector<std::string>& allowed = settable->second;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      errors.Add(http.MarkOf("headers"), where + ": invalid value for " + name +
                                             ". Expected one of: " + QuotedList(allowed) +
                                             ", but got: \"" + value + "\"");
    }
  }
}

void ReadRateLimit(WebMapReader& limit, WebConfig& web, ErrorList& errors) {
  limit.GoDurationField("interval", web.rate_limit.interval);
  limit.Int64("burst", web.rate_limit.burst);
  limit.RejectUnknownKeys();
  if (web.rate_limit.interval.count() < 0) {
    errors.Add(limit.MarkOf("interval"), "rate_limit.interval: must not be negative (0 disables)");
  }
  if (web.rate_limit.enabled() && web.rate_limit.burst < 1) {
    // Go's token bucket would then refuse every request.
    errors.Add(limit.MarkOf("burst"),
               "rate_limit.burst: must be at least 1 when interval is set (with " +
                   std::to_string(web.rate_limit.burst) + " every request would get 429)");
  }
}

}  // namespace

Result<WebConfig> LoadWebConfigFile(const std::string& path) {
  std::error_code error;  // the overload that throws would end a reload on ENAMETOOLONG
  if (std::filesystem::is_directory(path, error)) {
    return Status::Error(path + ": is a directory, not a web config file");
  }
  std::ifstream file(path);
  if (!file) {
    return Status::Error(path + ": cannot open web config file: " + SystemError(errno));
  }
  std::stringstream text;
  text << file.rdbuf();
  ErrorList errors(path);
  WebConfig web;
  try {
    const YAML::Node root = YAML::Load(text.str());
    if (!root.IsDefined() || root.IsNull()) return web;
    WebMapReader reader(root, "", errors);
    if (auto tls = reader.Nested("tls_server_config")) {
      ReadTlsServerConfig(*tls, std::filesystem::path(path).parent_path(), web, errors);
    }
    if (auto http = reader.Nested("http_server_config")) ReadHttpServerConfig(*http, web, errors);
    reader.StringMap("basic_auth_users", web.basic_auth_users);
    for (const auto& [user, hash] : web.basic_auth_users) {
      if (!IsBcryptHash(hash)) {
        errors.Add(reader.MarkOf("basic_auth_users"),
                   "basic_auth_users." + user +
                       ": not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters)");
      }
    }
    if (auto limit = reader.Nested("rate_limit")) ReadRateLimit(*limit, web, errors);
    reader.RejectUnknownKeys();
  } catch (const YAML::Exception& e) {
    errors.Add(e.mark, "invalid YAML: " + e.msg);
  }
  if (!errors.empty()) return Status::Error(errors.Joined());
  return web;
}

}  // namespace outcomes
