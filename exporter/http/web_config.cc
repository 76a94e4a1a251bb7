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
#include <tuple>

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

// Collects every problem with its position, so that one --config.check lists them all.
class ErrorList {
 public:
  explicit ErrorList(std::string source) : source_(std::move(source)) {}

  void Add(const YAML::Mark& mark, const std::string& message) {
    std::ostringstream line;
    line << source_;
    if (!mark.is_null()) line << ":" << mark.line + 1 << ":" << mark.column + 1;
    line << ": " << message;
    errors_.push_back(
        {mark.is_null() ? 0 : mark.line, mark.is_null() ? 0 : mark.column, line.str()});
  }
  bool empty() const { return errors_.empty(); }
  // Every problem in file order, one per line.
  std::string Joined() const {
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

 private:
  struct Entry {
    int line;
    int column;
    std::string text;
  };
  std::string source_;
  std::vector<Entry> errors_;
};

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

}  // namespace

Result<WebConfig> LoadWebConfigFile(const std::string& path) {
  if (std::filesystem::is_directory(path)) {
    return Status::Error(path + ": is a directory, not a web config file");
  }
  std::ifstream file(path);
  if (!file) {
    return Status::Error(path + ": cannot open web config file: " + std::strerror(errno));
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
      tls->String("cert_file", web.cert_file, /*required=*/true);
      tls->String("key_file", web.key_file, /*required=*/true);
      tls->String("client_ca_file", web.client_ca_file);
      tls->String("client_auth_type", web.client_auth_type);
      tls->String("min_version", web.min_version);
      tls->String("max_version", web.max_version);
      tls->RejectUnknownKeys();
      // As in the exporter-toolkit: relative paths are relative to the web config's folder.
      const std::filesystem::path folder = std::filesystem::path(path).parent_path();
      for (std::string* file_path : {&web.cert_file, &web.key_file, &web.client_ca_file}) {
        if (!file_path->empty() && std::filesystem::path(*file_path).is_relative()) {
          *file_path = (folder / *file_path).string();
        }
      }
      // The exporter-toolkit's older name.
      if (web.client_auth_type == "RequireClientCert")
        web.client_auth_type = "RequireAnyClientCert";
      static const std::set<std::string> kClientAuthTypes = {
          "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
          "RequireAndVerifyClientCert"};
      if (!kClientAuthTypes.contains(web.client_auth_type)) {
        errors.Add(tls->MarkOf("client_auth_type"),
                   "tls_server_config.client_auth_type: want NoClientCert, RequestClientCert, "
                   "RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert");
      }
      const bool verifies = web.client_auth_type == "VerifyClientCertIfGiven" ||
                            web.client_auth_type == "RequireAndVerifyClientCert";
      if (verifies && web.client_ca_file.empty()) {
        errors.Add(tls->MarkOf("client_auth_type"),
                   "tls_server_config.client_ca_file: required to verify client certificates");
      }
      if (!web.client_ca_file.empty() && web.client_auth_type == "NoClientCert") {
        // A CA with no policy would look like mutual TLS and check nothing.
        errors.Add(tls->MarkOf("client_ca_file"),
                   "tls_server_config.client_auth_type: set it (RequireAndVerifyClientCert for "
                   "mutual TLS) when client_ca_file is given");
      }
      for (const auto& [key, version] :
           {std::pair{"min_version", &web.min_version}, {"max_version", &web.max_version}}) {
        if (*version != "TLS12" && *version != "TLS13") {
          errors.Add(tls->MarkOf(key),
                     std::string("tls_server_config.") + key +
                         ": want TLS12 or TLS13 (older versions are not offered)");
        }
      }
      if (web.min_version == "TLS13" && web.max_version == "TLS12") {
        errors.Add(tls->MarkOf("max_version"),
                   "tls_server_config.max_version: TLS12 is below min_version TLS13");
      }
      for (const auto& [key, file_path] : {std::pair{"cert_file", &web.cert_file},
                                           {"key_file", &web.key_file},
                                           {"client_ca_file", &web.client_ca_file}}) {
        if (file_path->empty()) continue;
        std::string problem;
        if (std::filesystem::is_directory(*file_path)) {
          problem = "is a directory";
        } else if (!std::ifstream(*file_path)) {
          problem = std::strerror(errno);
        }
        if (!problem.empty()) {
          errors.Add(tls->MarkOf(key), std::string("tls_server_config.") + key +
                                           ": cannot read \"" + *file_path + "\": " + problem);
        }
      }
    }
    reader.StringMap("basic_auth_users", web.basic_auth_users);
    for (const auto& [user, hash] : web.basic_auth_users) {
      if (!IsBcryptHash(hash)) {
        errors.Add(reader.MarkOf("basic_auth_users"),
                   "basic_auth_users." + user +
                       ": not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters)");
      }
    }
    reader.RejectUnknownKeys();
  } catch (const YAML::Exception& e) {
    errors.Add(e.mark, "invalid YAML: " + e.msg);
  }
  if (!errors.empty()) return Status::Error(errors.Joined());
  return web;
}

}  // namespace outcomes
