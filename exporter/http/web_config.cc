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
#include "exporter/config/yaml_reader.h"
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
// In lower case, as Go writes it ("no such file or directory"), so that the words of an
// exporter-toolkit error are found in ours.
std::string SystemError(int code) {
  std::string message = std::error_code(code, std::generic_category()).message();
  if (!message.empty()) message[0] = static_cast<char>(std::tolower(message[0]));
  return message;
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

// As the exporter-toolkit's strict YAML decoding reads the web config: unknown and duplicate
// keys are errors, values are taken literally (no ${VAR} expansion), Go's spellings.
constexpr YamlDialect kGoYaml{.env = nullptr, .go_yaml = true};

// A Go duration ("1s", "1m30s", "250ms"), or an integer of nanoseconds, as Go's decoder reads
// a time.Duration.
void GoDurationField(MapReader& reader, const std::string& key, std::chrono::nanoseconds& out) {
  const YAML::Node value = reader.Get(key);
  if (!value.IsDefined() || value.IsNull()) return;
  std::int64_t nanoseconds = 0;
  if (value.IsScalar() && ParseInteger(value.Scalar(), nanoseconds, kGoYaml)) {
    out = std::chrono::nanoseconds(nanoseconds);
    return;
  }
  std::optional<std::chrono::nanoseconds> parsed;
  if (value.IsScalar()) parsed = ParseGoDuration(value.Scalar());
  if (!parsed) {
    reader.Error(key, "expected a duration such as 1s or 250ms");
    return;
  }
  out = *parsed;
}

// The exporter-toolkit's TLS version names.
const std::vector<std::string> kTlsVersions = {"TLS10", "TLS11", "TLS12", "TLS13"};

int VersionRank(const std::string& name) {
  return static_cast<int>(std::find(kTlsVersions.begin(), kTlsVersions.end(), name) -
                          kTlsVersions.begin());
}

void CheckVersions(MapReader& tls, const WebConfig& web, ErrorList& errors) {
  for (const auto& [key, version] :
       {std::pair{"min_version", &web.min_version}, {"max_version", &web.max_version}}) {
    const std::string qualified = tls.Qualified(key);
    if (VersionRank(*version) == static_cast<int>(kTlsVersions.size())) {
      errors.Add(tls.MarkOf(key), qualified + ": unknown TLS version: " + *version +
                                      " (want TLS10, TLS11, TLS12 or TLS13)");
    }
  }
  if (VersionRank(web.max_version) < VersionRank(web.min_version)) {
    errors.Add(tls.MarkOf("max_version"), tls.Qualified("max_version") + ": " + web.max_version +
                                              " is below min_version " + web.min_version);
  }
}

// Go's HTTP/2 server refuses to start on a TLS 1.2 suite list without one of these (RFC 7540
// section 9.2.2), and so does the exporter-toolkit when http2 is true.
bool LacksHttp2Suite(const WebConfig& web) {
  if (!web.http2 || web.cipher_suites.empty() || web.min_version == "TLS13") return false;
  return std::none_of(web.cipher_suites.begin(), web.cipher_suites.end(), [](const auto& name) {
    return name == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" ||
           name == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
  });
}

void CheckCipherSuitesAndCurves(MapReader& tls, const WebConfig& web, ErrorList& errors) {
  bool all_known = true;
  for (const std::string& name : web.cipher_suites) {
    if (!OpenSslCipherName(name)) {
      all_known = false;
      errors.Add(tls.MarkOf("cipher_suites"), tls.Qualified("cipher_suites") +
                                                  ": unknown cipher: " + name +
                                                  " (want a name of Go's tls.CipherSuites())");
    }
  }
  if (all_known && LacksHttp2Suite(web)) {
    errors.Add(tls.MarkOf("cipher_suites"),
               tls.Qualified("cipher_suites") +
                   ": http2: TLSConfig.CipherSuites is missing an HTTP/2-required "
                   "AES_128_GCM_SHA256 cipher (need at least one of "
                   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or "
                   "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), or set http_server_config.http2: "
                   "false");
  }
  for (const std::string& name : web.curve_preferences) {
    if (!OpenSslGroupName(name)) {
      errors.Add(tls.MarkOf("curve_preferences"),
                 tls.Qualified("curve_preferences") + ": unknown curve: " + name +
                     " (want X25519, CurveP256, CurveP384, CurveP521, X25519MLKEM768, "
                     "SecP256r1MLKEM768 or SecP384r1MLKEM1024)");
    }
  }
}

void CheckClientAuth(MapReader& tls, WebConfig& web, ErrorList& errors) {
  // "" is what Go reads from an explicit empty value; RequireClientCert is the older name.
  if (web.client_auth_type.empty()) web.client_auth_type = "NoClientCert";
  if (web.client_auth_type == "RequireClientCert") web.client_auth_type = "RequireAnyClientCert";
  static const std::set<std::string> kClientAuthTypes = {
      "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
      "RequireAndVerifyClientCert"};
  if (!kClientAuthTypes.contains(web.client_auth_type)) {
    errors.Add(tls.MarkOf("client_auth_type"),
               "tls_server_config.client_auth_type: invalid ClientAuth: " + web.client_auth_type +
                   " (want NoClientCert, RequestClientCert, RequireAnyClientCert, "
                   "VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
  }
  // The verifying types without a client CA verify against the system's trust store, as Go
  // does (tls_context.cc).
  const bool has_ca = !web.client_ca_file.empty() || !web.client_ca.empty();
  if (has_ca && web.client_auth_type == "NoClientCert") {
    // A CA with no policy would look like mutual TLS and check nothing.
    errors.Add(tls.MarkOf(web.client_ca.empty() ? "client_ca_file" : "client_ca"),
               "tls_server_config.client_auth_type: client CA's have been configured without a "
               "Client Auth Policy; set it (RequireAndVerifyClientCert for mutual TLS) when "
               "client_ca_file is given");
  }
  if (web.client_allowed_sans) {
    const bool requires_certificate = web.client_auth_type == "RequireAnyClientCert" ||
                                      web.client_auth_type == "RequireAndVerifyClientCert";
    // An empty list is accepted, as in the exporter-toolkit: it refuses every client.
    if (!requires_certificate) {
      errors.Add(tls.MarkOf("client_allowed_sans"),
                 "tls_server_config.client_allowed_sans: requires client_auth_type to be one of "
                 "RequireAnyClientCert or RequireAndVerifyClientCert");
    }
  }
}

// As in the exporter-toolkit, the file wins over the inline form of the same input.
void PreferFiles(WebConfig& web) {
  for (const auto& [inline_value, file_value] : {std::pair{&web.cert, &web.cert_file},
                                                 {&web.key, &web.key_file},
                                                 {&web.client_ca, &web.client_ca_file}}) {
    if (!file_value->empty()) inline_value->clear();
  }
}

// Half-written sections are refused: any certificate, key, CA or client_auth_type turns TLS
// on, and then a certificate and a key must be there.
void CheckCertificateAndKey(MapReader& tls, const WebConfig& web, bool auth_type_given,
                            ErrorList& errors) {
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

void CheckFilesReadable(MapReader& tls, const WebConfig& web, ErrorList& errors) {
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

void ReadTlsServerConfig(MapReader& tls, const std::filesystem::path& folder, WebConfig& web,
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
  PreferFiles(web);
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

void ReadHttpServerConfig(MapReader& http, WebConfig& web, ErrorList& errors) {
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

void ReadRateLimit(MapReader& limit, WebConfig& web) {
  GoDurationField(limit, "interval", web.rate_limit.interval);
  limit.Int64("burst", web.rate_limit.burst);
  limit.RejectUnknownKeys();
  // As in the exporter-toolkit (golang.org/x/time/rate): an interval of 0 or less is no
  // limit, and a burst below 1 with an interval answers every request with 429.
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
    MapReader reader(root, "", errors, kGoYaml);
    // http2 first: the TLS checks depend on it.
    if (auto http = reader.Nested("http_server_config")) ReadHttpServerConfig(*http, web, errors);
    if (auto tls = reader.Nested("tls_server_config")) {
      ReadTlsServerConfig(*tls, std::filesystem::path(path).parent_path(), web, errors);
    }
    reader.StringMap("basic_auth_users", web.basic_auth_users);
    for (const auto& [user, hash] : web.basic_auth_users) {
      if (!IsBcryptHash(hash)) {
        // Go's bcrypt says "hashedSecret too short" of most non-hashes, the toolkit's tests too.
        const std::string go_words =
            hash.size() < 59 ? "crypto/bcrypt: hashedSecret too short to be a bcrypted password; "
                             : "";
        errors.Add(reader.MarkOf("basic_auth_users"),
                   "basic_auth_users." + user + ": " + go_words +
                       "not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters)");
      }
    }
    if (auto limit = reader.Nested("rate_limit")) ReadRateLimit(*limit, web);
    reader.RejectUnknownKeys();
  } catch (const YAML::Exception& e) {
    errors.Add(e.mark, "invalid YAML (yaml: " + e.msg + ")");
  }
  if (!errors.empty()) return Status::Error(errors.Joined());
  return web;
}

}  // namespace outcomes
