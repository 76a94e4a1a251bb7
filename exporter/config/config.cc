#include "exporter/config/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>

#include "exporter/config/error_list.h"
#include "exporter/probe/http_probe.h"

namespace outcomes {
namespace {

// The longest duration any setting takes: timers count nanoseconds in 64 bits (about 292
// years from the clock's epoch) and libpq's connect_timeout is an int of seconds.
constexpr Duration kLongestDuration = std::chrono::hours(24 * 365 * 10);

// from_chars, not stoll: out of range is a false, never an exception.
bool ParseInteger(const std::string& text, std::int64_t& out) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, out);
  return !text.empty() && error == std::errc() && stop == end;
}

// Whether the quoted scalar whose quote is at text[open] closes on that same line.
bool QuoteClosesOnItsLine(std::string_view text, std::size_t open) {
  const char quote = text[open];
  for (std::size_t i = open + 1; i < text.size() && text[i] != '\n'; ++i) {
    if (quote == '"' && text[i] == '\\') {
      if (i + 1 < text.size() && text[i + 1] == '\n') return false;  // an escaped line break
      ++i;  // the escaped character, which may be a quote
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside single quotes
      } else {
        return true;
      }
    }
  }
  return false;
}

// Whether a quote at text[pos] can open a scalar: first on its line, or after ':', '-', '[',
// '{', ',' or '?'. An apostrophe inside a word (it's) cannot.
bool CanOpenScalar(std::string_view text, std::size_t pos) {
  while (pos > 0 && (text[pos - 1] == ' ' || text[pos - 1] == '\t')) --pos;
  return pos == 0 || std::string_view("\n:-[{,?").find(text[pos - 1]) != std::string_view::npos;
}

// Where the quoted scalar that is still open at the end of the file opens, for yaml-cpp's
// "illegal EOF in scalar", which points at the end. Inside that scalar there is no closing
// quote of its kind, so it opens at the last double quote or the last lone single quote that can
// open a scalar; if both can, the later one is inside the earlier one.
std::optional<YAML::Mark> FindUnclosedQuote(std::string_view text) {
  std::optional<std::size_t> last_double;
  std::optional<std::size_t> last_single;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool escaped_pair =
        text[i] == '\\' || (text[i] == '\'' && i + 1 < text.size() && text[i + 1] == '\'');
    if (escaped_pair) {
      ++i;  // \" (or any escape) in double quotes, '' in single quotes: no quote opens here
    } else if (text[i] == '"' && CanOpenScalar(text, i)) {
      last_double = i;
    } else if (text[i] == '\'' && CanOpenScalar(text, i)) {
      last_single = i;
    }
  }
  if (!last_double && !last_single) return std::nullopt;
  const std::size_t open =
      std::min(last_double.value_or(text.size()), last_single.value_or(text.size()));
  YAML::Mark mark;
  mark.pos = static_cast<int>(open);
  const std::size_t line_start = text.rfind('\n', open);
  mark.line = static_cast<int>(std::count(text.begin(), text.begin() + open, '\n'));
  mark.column =
      static_cast<int>(line_start == std::string_view::npos ? open : open - line_start - 1);
  return mark;
}

// Refuses what yaml-cpp accepts but a config file must not be: a top level that is not a
// mapping (junk such as "," or "&a" reads as an empty document, so the exporter would run with
// no collectors), a second document (YAML::Load ignores it silently), and a quoted value that
// does not close on its line (an unterminated quote swallows the rest of the file). It works on
// parser events, so aliases are never expanded. Feed it one document at a time.
class DocumentCheck : public YAML::EventHandler {
 public:
  DocumentCheck(std::string_view text, ErrorList& errors) : text_(text), errors_(errors) {}

  // Whether another document may be read: false after a refused top level, because some junk
  // makes yaml-cpp return empty documents forever, and after the second document.
  bool want_more() const { return documents_ < 2 && !root_refused_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) {
      errors_.Add(mark, "a second YAML document starts here; a config file holds exactly one");
    }
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    if (documents_ != 1) return;
    if (stack_.empty()) {
      // A null top level is an empty file (comments, "---") unless text stands where it is.
      const std::string token = TokenAt(mark.pos);
      if (!token.empty()) RefuseRoot(mark, "\"" + token + "\"");
      return;
    }
    Place(nullptr);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    if (documents_ != 1) return;
    if (stack_.empty()) {
      RefuseRoot(mark, "an alias");
      return;
    }
    Place(nullptr);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& value) override {
    if (documents_ != 1) return;
    if (stack_.empty()) {
      RefuseRoot(mark, "a single value");
      return;
    }
    const auto [path, is_key] = Place(&value);
    const auto open = static_cast<std::size_t>(mark.pos);
    if (open < text_.size() && (text_[open] == '"' || text_[open] == '\'') &&
        !QuoteClosesOnItsLine(text_, open)) {
      // The value itself is not repeated: it holds the rest of the file, maybe a password.
      errors_.Add(mark, (path.empty() ? std::string("top level") : path) +
                            (is_key ? ": a quoted key" : ": the quoted value") +
                            " that opens here does not close on this line (for text over "
                            "several lines, use a block scalar: |)");
    }
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {
    if (documents_ != 1) return;
    if (stack_.empty()) RefuseRoot(mark, "a list");
    Push(/*mapping=*/false);
  }
  void OnSequenceEnd() override {
    if (documents_ == 1) stack_.pop_back();
  }
  void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {
    if (documents_ != 1) return;
    Push(/*mapping=*/true);
  }
  void OnMapEnd() override {
    if (documents_ == 1) stack_.pop_back();
  }

 private:
  struct Container {
    bool mapping;
    std::string path;
    bool at_key = true;
    std::string key;
    std::size_t index = 0;
  };

  void Push(bool mapping) {
    std::string path = stack_.empty() ? "" : Place(nullptr).first;
    stack_.push_back({mapping, std::move(path), true, {}, 0});
  }

  // The path of the node that starts now and whether it is a mapping key; moves the parent on.
  std::pair<std::string, bool> Place(const std::string* scalar) {
    Container& parent = stack_.back();
    if (!parent.mapping) return {parent.path + "[" + std::to_string(parent.index++) + "]", false};
    if (parent.at_key) {
      parent.at_key = false;
      parent.key = scalar != nullptr ? *scalar : "?";
      return {parent.path, true};
    }
    parent.at_key = true;
    return {parent.path.empty() ? parent.key : parent.path + "." + parent.key, false};
  }

  void RefuseRoot(const YAML::Mark& mark, const std::string& found) {
    root_refused_ = true;
    errors_.Add(mark,
                "the top level must be a mapping of sections (store:, endpoints:, registries:, "
                "queries:, analytics:), not " +
                    found);
  }

  // The text that starts at `pos` up to the next blank, or "" if there is none.
  std::string TokenAt(std::size_t pos) const {
    if (pos >= text_.size() || text_[pos] == '#') return "";
    const std::size_t end = std::min(text_.find_first_of(" \t\r\n", pos), pos + 20);
    return std::string(text_.substr(pos, end - pos));
  }

  std::string_view text_;
  ErrorList& errors_;
  int documents_ = 0;
  bool root_refused_ = false;
  std::vector<Container> stack_;
};

// The text as yaml-cpp counts positions in it: without a UTF-8 byte order mark.
std::string_view WithoutBom(std::string_view yaml) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  return yaml.starts_with(kBom) ? yaml.substr(kBom.size()) : yaml;
}

// Runs DocumentCheck over `yaml`; false if it found a problem.
bool CheckDocument(std::string_view yaml, ErrorList& errors) {
  std::istringstream in{std::string(yaml)};
  YAML::Parser parser(in);
  DocumentCheck check(WithoutBom(yaml), errors);
  while (check.want_more() && parser.HandleNextDocument(check)) {
  }
  return errors.empty();
}

// Reads the fields of one YAML mapping, remembering which keys were used so that unknown
// keys can be reported with their own position.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, ErrorList& errors, const EnvLookup& env)
      : node_(node), path_(std::move(path)), errors_(errors), env_(env) {
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

  bool valid() const { return valid_; }
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
    Result<std::string> expanded = ExpandEnv(value.Scalar(), env_);
    if (!expanded.ok()) {
      errors_.Add(value.Mark(), Qualified(key) + ": " + expanded.error());
      return;
    }
    out = std::move(expanded).value();
  }

  void DurationField(const std::string& key, Duration& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsScalar()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a duration such as 15s");
      return;
    }
    Result<std::string> expanded = ExpandEnv(value.Scalar(), env_);
    if (!expanded.ok()) {
      errors_.Add(value.Mark(), Qualified(key) + ": " + expanded.error());
      return;
    }
    Result<Duration> parsed = ParseDuration(expanded.value());
    if (!parsed.ok()) {
      errors_.Add(value.Mark(), Qualified(key) + ": " + parsed.error());
      return;
    }
    if (parsed.value() > kLongestDuration) {
      errors_.Add(value.Mark(), Qualified(key) + ": must be at most " +
                                    FormatDuration(kLongestDuration) +
                                    " (timers and libpq cannot count further)");
      return;
    }
    out = parsed.value();
  }

  void Bool(const std::string& key, bool& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsScalar() || (value.Scalar() != "true" && value.Scalar() != "false")) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected true or false");
      return;
    }
    out = value.Scalar() == "true";
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

  void Double(const std::string& key, double& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (std::optional<double> number = FiniteNumber(value)) {
      out = *number;
    } else {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a finite number");
    }
  }

  void IntList(const std::string& key, std::vector<int>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsSequence()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a list of integers");
      return;
    }
    out.clear();
    for (const auto& item : value) {
      std::int64_t parsed = 0;
      if (!item.IsScalar() || !ParseInteger(item.Scalar(), parsed) || parsed < 0 || parsed > 999) {
        errors_.Add(item.Mark(), Qualified(key) + ": expected an HTTP status code");
        continue;
      }
      out.push_back(static_cast<int>(parsed));
    }
  }

  // Upper bounds of a histogram. All or nothing: one bad item keeps the default, so that
  // only that item is reported.
  void BucketList(const std::string& key, std::vector<double>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsSequence()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a list of numbers");
      return;
    }
    std::vector<double> buckets;
    bool valid = true;
    for (const auto& item : value) {
      if (std::optional<double> number = FiniteNumber(item)) {
        buckets.push_back(*number);
      } else {
        errors_.Add(
            item.Mark(),
            Qualified(key) + ": expected a finite number (the +Inf bucket is always there)");
        valid = false;
      }
    }
    if (valid) out = std::move(buckets);
  }

  void StringList(const std::string& key, std::vector<std::string>& out) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return;
    if (!value.IsSequence()) {
      errors_.Add(value.Mark(), Qualified(key) + ": expected a list of strings");
      return;
    }
    out.clear();
    for (const auto& item : value) {
      if (!item.IsScalar()) {
        errors_.Add(item.Mark(), Qualified(key) + ": expected a string");
        continue;
      }
      out.push_back(item.Scalar());
    }
  }

  // A mapping of strings, in file order; values expand ${VAR}.
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
      Result<std::string> expanded = ExpandEnv(entry.second.Scalar(), env_);
      if (!expanded.ok()) {
        errors_.Add(entry.second.Mark(),
                    Qualified(key) + "." + entry.first.Scalar() + ": " + expanded.error());
        continue;
      }
      out.emplace_back(entry.first.Scalar(), std::move(expanded).value());
    }
  }

  // A reader for the nested mapping at `key`, or nullopt when the key is absent.
  std::optional<MapReader> Nested(const std::string& key) {
    const YAML::Node value = Get(key);
    if (!value.IsDefined() || value.IsNull()) return std::nullopt;
    return MapReader(value, Qualified(key), errors_, env_);
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

  YAML::Mark Mark() const { return node_.Mark(); }
  YAML::Mark MarkOf(const std::string& key) {
    const YAML::Node value = Get(key);
    return value.IsDefined() ? value.Mark() : node_.Mark();
  }

 private:
  // .inf and .nan are numbers to YAML but no setting of ours can use them.
  static std::optional<double> FiniteNumber(const YAML::Node& node) {
    if (!node.IsScalar()) return std::nullopt;
    try {
      const auto number = node.as<double>();
      if (std::isfinite(number)) return number;
    } catch (const YAML::Exception&) {
      // Not a number: reported by the caller like a non-finite one.
    }
    return std::nullopt;
  }

  YAML::Node node_;
  std::string path_;
  ErrorList& errors_;
  const EnvLookup& env_;
  std::set<std::string> known_;
  bool valid_ = true;
};

// PostgreSQL's largest statement_timeout: an int of milliseconds (about 24.8 days).
constexpr Duration kLongestStatementTimeout{INT_MAX};

void RequirePositive(MapReader& reader, const std::string& key, Duration value, ErrorList& errors) {
  if (value <= Duration::zero()) {
    errors.Add(reader.MarkOf(key), reader.Qualified(key) + ": must be greater than 0");
  }
}

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

StoreConfig ReadStore(const YAML::Node& node, ErrorList& errors, const EnvLookup& env) {
  StoreConfig store;
  MapReader reader(node, "store", errors, env);
  reader.String("dsn", store.dsn);
  reader.String("dsn_file", store.dsn_file);
  reader.DurationField("interval", store.interval);
  reader.DurationField("reconcile_interval", store.reconcile_interval);
  reader.DurationField("late_commit_window", store.late_commit_window);
  reader.DurationField("statement_timeout", store.statement_timeout);
  reader.DurationField("connect_timeout", store.connect_timeout);
  reader.DurationField("timeout", store.timeout);
  reader.DurationField("max_backoff", store.max_backoff);
  reader.String("application_name", store.application_name);
  reader.Int64("series_limit", store.series_limit);
  reader.RejectUnknownKeys();
  if (!reader.valid()) return store;

  const auto present = [&reader](const char* key) {
    const YAML::Node value = reader.Get(key);
    return value.IsDefined() && !value.IsNull();
  };
  if (present("dsn") == present("dsn_file")) {
    errors.Add(reader.Mark(), "store: set exactly one of dsn and dsn_file");
  } else if (present("dsn_file") && !store.dsn_file.empty()) {
    std::string error;
    if (auto dsn = ReadFirstLine(store.dsn_file, error)) {
      store.dsn = *dsn;
    } else {
      errors.Add(reader.MarkOf("dsn_file"), "store.dsn_file: " + error);
    }
  }
  RequirePositive(reader, "interval", store.interval, errors);
  RequirePositive(reader, "statement_timeout", store.statement_timeout, errors);
  if (store.statement_timeout > kLongestStatementTimeout) {
    // PostgreSQL would refuse the SET, and the store would never connect.
    errors.Add(reader.MarkOf("statement_timeout"), "store.statement_timeout: must be at most " +
                                                       FormatDuration(kLongestStatementTimeout) +
                                                       " (PostgreSQL's limit, 2147483647ms)");
  }
  RequirePositive(reader, "timeout", store.timeout, errors);
  RequirePositive(reader, "max_backoff", store.max_backoff, errors);
  if (store.connect_timeout < 1s) {
    errors.Add(reader.MarkOf("connect_timeout"),
               "store.connect_timeout: must be at least 1s (libpq counts whole seconds)");
  }
  if (store.reconcile_interval < store.interval) {
    errors.Add(reader.MarkOf("reconcile_interval"),
               "store.reconcile_interval: must be at least store.interval (" +
                   FormatDuration(store.interval) + ")");
  }
  if (store.late_commit_window < Duration::zero()) {
    errors.Add(reader.MarkOf("late_commit_window"),
               "store.late_commit_window: must not be negative");
  }
  if (store.application_name.empty()) {
    errors.Add(reader.MarkOf("application_name"), "store.application_name: must not be empty");
  }
  if (store.series_limit < 1) {
    errors.Add(reader.MarkOf("series_limit"), "store.series_limit: must be at least 1");
  }
  return store;
}

bool ValidMetricName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Names the exporter exports itself; a user-defined metric must not shadow them.
bool IsReservedMetricName(const std::string& name) {
  return name.starts_with("outcomes_") || name.starts_with("model_endpoint_") ||
         name.starts_with("model_registry_") || name == "model_info" ||
         name.starts_with("process_");
}

bool ValidUrl(const std::string& url) {
  constexpr std::array<std::string_view, 2> kSchemes = {"http://", "https://"};
  return std::ranges::any_of(kSchemes, [&url](std::string_view scheme) {
    return url.starts_with(scheme) && url.size() > scheme.size() && url[scheme.size()] != '/';
  });
}

// The fields every HTTP client shares; call before reading the kind's own fields.
void ReadHttpClient(MapReader& reader, HttpClientConfig& client, ErrorList& errors) {
  reader.String("name", client.name, /*required=*/true);
  reader.String("url", client.url, /*required=*/true);
  reader.StringMap("headers", client.headers);
  reader.String("bearer_token_file", client.bearer_token_file);
  reader.DurationField("interval", client.interval);
  reader.DurationField("timeout", client.timeout);
  if (auto tls = reader.Nested("tls")) {
    tls->String("ca_file", client.tls.ca_file);
    tls->String("cert_file", client.tls.cert_file);
    tls->String("key_file", client.tls.key_file);
    tls->String("server_name", client.tls.server_name);
    tls->Bool("insecure_skip_verify", client.tls.insecure_skip_verify);
    tls->RejectUnknownKeys();
    if (client.tls.cert_file.empty() != client.tls.key_file.empty()) {
      errors.Add(tls->Mark(), tls->Qualified("cert_file") + ": cert_file and key_file go together");
    }
  }
}

// Checks what HttpClientConfig holds once the whole entry was read.
void ValidateHttpClient(MapReader& reader, const HttpClientConfig& client,
                        std::set<std::string>& names, ErrorList& errors) {
  if (!client.name.empty() && !names.insert(client.name).second) {
    errors.Add(reader.MarkOf("name"),
               reader.Qualified("name") + ": duplicate name \"" + client.name + "\"");
  }
  if (!client.url.empty() && !ValidUrl(client.url)) {
    errors.Add(reader.MarkOf("url"),
               reader.Qualified("url") + ": expected an http:// or https:// URL");
  } else if (!client.url.empty()) {
    // The probe's own parser, so that what passes here is what the collectors accept.
    if (Result<ParsedUrl> url = ParseUrl(client.url); !url.ok()) {
      errors.Add(reader.MarkOf("url"), reader.Qualified("url") + ": " + url.error());
    }
  }
  RequirePositive(reader, "interval", client.interval, errors);
  RequirePositive(reader, "timeout", client.timeout, errors);
  if (!client.bearer_token_file.empty()) {
    std::string error;
    if (!ReadFirstLine(client.bearer_token_file, error)) {
      errors.Add(reader.MarkOf("bearer_token_file"),
                 reader.Qualified("bearer_token_file") + ": " + error);
    }
  }
}

void CheckPointer(MapReader& reader, const std::string& key, const std::string& pointer,
                  ErrorList& errors) {
  if (!pointer.empty() && pointer.front() != '/') {
    errors.Add(reader.MarkOf(key),
               reader.Qualified(key) + ": a JSON Pointer starts with / (e.g. /model/version)");
  }
}

// `values:` of a field: any string key, each mapped to a finite number.
void ReadFieldValues(MapReader& field_reader, EndpointFieldConfig& field, ErrorList& errors,
                     const EnvLookup& env) {
  const YAML::Node values = field_reader.Get("values");
  if (!values.IsDefined() || values.IsNull()) return;
  if (!values.IsMap()) {
    errors.Add(values.Mark(),
               field_reader.Qualified("values") + ": expected a mapping of strings to numbers");
    return;
  }
  MapReader values_reader(values, field_reader.Qualified("values"), errors, env);
  for (const auto& entry : values) {
    const std::string key = entry.first.Scalar();
    double number = std::numeric_limits<double>::quiet_NaN();
    values_reader.Double(key, number);
    if (!std::isnan(number)) field.values[key] = number;
  }
}

std::vector<EndpointFieldConfig> ReadFields(MapReader& reader, ErrorList& errors,
                                            const EnvLookup& env) {
  std::vector<EndpointFieldConfig> out;
  const YAML::Node fields = reader.Get("fields");
  if (!fields.IsDefined() || fields.IsNull()) return out;
  if (!fields.IsSequence()) {
    errors.Add(fields.Mark(), reader.Qualified("fields") + ": expected a list");
    return out;
  }
  for (std::size_t k = 0; k < fields.size(); ++k) {
    EndpointFieldConfig field;
    MapReader field_reader(fields[k], reader.Qualified("fields") + "[" + std::to_string(k) + "]",
                           errors, env);
    field_reader.String("metric", field.metric, /*required=*/true);
    field_reader.String("pointer", field.pointer, /*required=*/true);
    field_reader.String("help", field.help);
    ReadFieldValues(field_reader, field, errors, env);
    field_reader.RejectUnknownKeys();
    if (!field.metric.empty() && !ValidMetricName(field.metric)) {
      errors.Add(field_reader.MarkOf("metric"),
                 field_reader.Qualified("metric") + ": \"" + field.metric +
                     "\" is not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*)");
    } else if (IsReservedMetricName(field.metric)) {
      errors.Add(field_reader.MarkOf("metric"), field_reader.Qualified("metric") + ": \"" +
                                                    field.metric +
                                                    "\" collides with a built-in metric");
    }
    CheckPointer(field_reader, "pointer", field.pointer, errors);
    out.push_back(std::move(field));
  }
  return out;
}

// Reads a list of entries with `read_one`, which gets a reader positioned on each entry.
template <typename T, typename ReadOne>
std::vector<T> ReadList(const YAML::Node& node, const std::string& key, ErrorList& errors,
                        const EnvLookup& env, ReadOne read_one) {
  std::vector<T> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) {
    errors.Add(node.Mark(), key + ": expected a list");
    return out;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    MapReader reader(node[i], key + "[" + std::to_string(i) + "]", errors, env);
    T entry;
    read_one(reader, entry);
    reader.RejectUnknownKeys();
    if (reader.valid()) out.push_back(std::move(entry));
  }
  return out;
}

// `expect:` of an endpoint: a list of {pointer, equals}.
std::vector<EndpointExpectConfig> ReadExpectations(MapReader& reader, ErrorList& errors,
                                                   const EnvLookup& env) {
  std::vector<EndpointExpectConfig> out;
  const YAML::Node list = reader.Get("expect");
  if (!list.IsDefined() || list.IsNull()) return out;
  if (!list.IsSequence()) {
    errors.Add(list.Mark(), reader.Qualified("expect") + ": expected a list");
    return out;
  }
  for (std::size_t k = 0; k < list.size(); ++k) {
    EndpointExpectConfig expect;
    MapReader item(list[k], reader.Qualified("expect") + "[" + std::to_string(k) + "]", errors,
                   env);
    item.String("pointer", expect.pointer, /*required=*/true);
    if (const YAML::Node equals = item.Get("equals"); equals.IsDefined()) {
      if (equals.IsScalar() || equals.IsNull()) {
        expect.equals = equals.IsNull() ? "null" : equals.Scalar();
      } else {
        errors.Add(equals.Mark(), item.Qualified("equals") + ": expected a single value");
      }
    }
    item.RejectUnknownKeys();
    CheckPointer(item, "pointer", expect.pointer, errors);
    out.push_back(std::move(expect));
  }
  return out;
}

// A body goes with POST only, inline or from a file, and the file is read now.
void ValidateRequestBody(MapReader& reader, EndpointConfig& endpoint, ErrorList& errors) {
  if (!endpoint.body.empty() && !endpoint.body_file.empty()) {
    errors.Add(reader.MarkOf("body_file"),
               reader.Qualified("body_file") + ": give body or body_file, not both");
    return;
  }
  if (!endpoint.body_file.empty()) {
    std::ifstream file(endpoint.body_file, std::ios::binary);
    if (!file) {
      errors.Add(reader.MarkOf("body_file"),
                 reader.Qualified("body_file") + ": cannot read \"" + endpoint.body_file + "\"");
      return;
    }
    endpoint.body.assign(std::istreambuf_iterator<char>(file), {});
  }
  if ((!endpoint.body.empty() || !endpoint.body_file.empty()) && endpoint.method != "POST") {
    errors.Add(reader.MarkOf("method"),
               reader.Qualified("method") + ": a request body needs method POST");
  }
}

std::vector<EndpointConfig> ReadEndpoints(const YAML::Node& node, ErrorList& errors,
                                          const EnvLookup& env) {
  std::set<std::string> names;
  return ReadList<EndpointConfig>(
      node, "endpoints", errors, env, [&](MapReader& reader, EndpointConfig& endpoint) {
        ReadHttpClient(reader, endpoint, errors);
        reader.String("method", endpoint.method);
        reader.String("body", endpoint.body);
        reader.String("body_file", endpoint.body_file);
        endpoint.expect = ReadExpectations(reader, errors, env);
        reader.IntList("valid_status_codes", endpoint.valid_status_codes);
        reader.Int64("max_body_bytes", endpoint.max_body_bytes);
        reader.BucketList("buckets", endpoint.buckets);
        if (auto model_info = reader.Nested("model_info")) {
          model_info->String("model_name", endpoint.model_name_pointer);
          model_info->String("model_version", endpoint.model_version_pointer);
          model_info->String("stage", endpoint.stage_pointer);
          model_info->RejectUnknownKeys();
          CheckPointer(*model_info, "model_name", endpoint.model_name_pointer, errors);
          CheckPointer(*model_info, "model_version", endpoint.model_version_pointer, errors);
          CheckPointer(*model_info, "stage", endpoint.stage_pointer, errors);
        }
        endpoint.fields = ReadFields(reader, errors, env);
        if (!reader.valid()) return;
        ValidateHttpClient(reader, endpoint, names, errors);
        if (endpoint.method != "GET" && endpoint.method != "HEAD" && endpoint.method != "POST") {
          errors.Add(reader.MarkOf("method"),
                     reader.Qualified("method") + ": want GET, HEAD or POST");
        }
        ValidateRequestBody(reader, endpoint, errors);
        if (endpoint.max_body_bytes <= 0) {
          errors.Add(reader.MarkOf("max_body_bytes"),
                     reader.Qualified("max_body_bytes") + ": must be greater than 0");
        }
        const auto& buckets = endpoint.buckets;
        if (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end()) ||
            std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end()) {
          errors.Add(
              reader.MarkOf("buckets"),
              reader.Qualified("buckets") + ": must be a non-empty, strictly ascending list");
        }
      });
}

void RequireFraction(MapReader& reader, const std::string& key, double value, ErrorList& errors) {
  if (!(value > 0 && value < 1)) {
    errors.Add(reader.MarkOf(key), reader.Qualified(key) + ": must be between 0 and 1 (exclusive)");
  }
}

// The named numbers of `key` (thresholds or guards): only the names `known` holds, each a
// number of at least 0.
void ReadTriggerNumbers(MapReader& parent, const std::string& key,
                        const std::map<std::string, double>& known,
                        std::map<std::string, double>& out, ErrorList& errors) {
  auto reader = parent.Nested(key);
  if (!reader) return;
  for (const auto& [name, unused] : known) {
    double value = std::numeric_limits<double>::quiet_NaN();
    reader->Double(name, value);
    if (std::isnan(value)) continue;
    if (!std::isfinite(value) || value < 0) {
      errors.Add(reader->MarkOf(name), reader->Qualified(name) + ": must be a number >= 0");
      continue;
    }
    out[name] = value;
  }
  reader->RejectUnknownKeys();
}

// `triggers:` of `retraining` or of one model version: known trigger names only.
std::map<std::string, TriggerSettings> ReadTriggers(MapReader& parent, ErrorList& errors) {
  std::map<std::string, TriggerSettings> triggers;
  auto reader = parent.Nested("triggers");
  if (!reader) return triggers;
  for (const auto& [name, known] : DefaultRetrainingTriggers()) {
    auto trigger = reader->Nested(name);
    if (!trigger) continue;
    TriggerSettings& settings = triggers[name];
    ReadTriggerNumbers(*trigger, "thresholds", known.thresholds, settings.thresholds, errors);
    ReadTriggerNumbers(*trigger, "guards", known.guards, settings.guards, errors);
    trigger->RejectUnknownKeys();
  }
  reader->RejectUnknownKeys();
  return triggers;
}

RetrainingConfig ReadRetraining(const YAML::Node& node, ErrorList& errors, const EnvLookup& env) {
  RetrainingConfig retraining;
  MapReader reader(node, "retraining", errors, env);
  for (const auto& [name, settings] : ReadTriggers(reader, errors)) {
    TriggerSettings& target = retraining.triggers[name];
    for (const auto& [key, value] : settings.thresholds) target.thresholds[key] = value;
    for (const auto& [key, value] : settings.guards) target.guards[key] = value;
  }
  const YAML::Node versions = reader.Get("model_versions");
  if (versions.IsDefined() && !versions.IsNull()) {
    if (!versions.IsMap()) {
      errors.Add(versions.Mark(),
                 "retraining.model_versions: expected a mapping of model versions");
    } else {
      for (const auto& entry : versions) {
        const std::string version = entry.first.as<std::string>();
        MapReader version_reader(entry.second, "retraining.model_versions." + version, errors, env);
        if (!version_reader.valid()) continue;
        ModelVersionRetrainingConfig config;
        config.triggers = ReadTriggers(version_reader, errors);
        double end = std::numeric_limits<double>::quiet_NaN();
        version_reader.Double("training_data_end", end);
        if (!std::isnan(end)) config.training_data_end = end;
        version_reader.RejectUnknownKeys();
        retraining.model_versions[version] = std::move(config);
      }
    }
  }
  reader.RejectUnknownKeys();
  return retraining;
}

AnalyticsConfig ReadAnalytics(const YAML::Node& node, ErrorList& errors, const EnvLookup& env) {
  AnalyticsConfig analytics;
  MapReader reader(node, "analytics", errors, env);
  reader.Double("cost_per_recommendation", analytics.cost_per_recommendation);
  if (auto ab = reader.Nested("ab_tests")) {
    AbTestsConfig config;
    ab->DurationField("interval", config.interval);
    ab->DurationField("timeout", config.timeout);
    ab->Double("confidence", config.confidence);
    ab->Double("minimum_detectable_effect", config.minimum_detectable_effect);
    ab->Double("power", config.power);
    ab->Int64("min_units_per_arm", config.min_units_per_arm);
    ab->Double("srm_threshold", config.srm_threshold);
    double tau = std::numeric_limits<double>::quiet_NaN();  // NaN: not set, derived per test
    ab->Double("msprt_tau", tau);
    if (!std::isnan(tau)) config.msprt_tau = tau;
    ab->DurationField("ended_retention", config.ended_retention);
    ab->Int64("max_tracked_customers", config.max_tracked_customers);
    ab->RejectUnknownKeys();
    RequirePositive(*ab, "interval", config.interval, errors);
    RequirePositive(*ab, "timeout", config.timeout, errors);
    RequireFraction(*ab, "confidence", config.confidence, errors);
    RequireFraction(*ab, "power", config.power, errors);
    RequireFraction(*ab, "srm_threshold", config.srm_threshold, errors);
    if (config.minimum_detectable_effect <= 0) {
      errors.Add(ab->MarkOf("minimum_detectable_effect"),
                 ab->Qualified("minimum_detectable_effect") + ": must be greater than 0");
    }
    if (config.msprt_tau && *config.msprt_tau <= 0) {
      errors.Add(ab->MarkOf("msprt_tau"), ab->Qualified("msprt_tau") + ": must be greater than 0");
    }
    if (config.min_units_per_arm < 1) {
      errors.Add(ab->MarkOf("min_units_per_arm"),
                 ab->Qualified("min_units_per_arm") + ": must be at least 1");
    }
    if (config.max_tracked_customers < 0) {
      errors.Add(ab->MarkOf("max_tracked_customers"),
                 ab->Qualified("max_tracked_customers") + ": must be at least 0");
    }
    analytics.ab_tests = config;
  }
  if (auto drift = reader.Nested("drift")) {
    DriftConfig config;
    drift->DurationField("interval", config.interval);
    drift->DurationField("timeout", config.timeout);
    drift->DurationField("current_window", config.current_window);
    drift->DurationField("reference_window", config.reference_window);
    drift->Int64("bins", config.bins);
    drift->RejectUnknownKeys();
    for (const auto& [key, value] : {std::pair{"interval", config.interval},
                                     {"timeout", config.timeout},
                                     {"current_window", config.current_window},
                                     {"reference_window", config.reference_window}}) {
      RequirePositive(*drift, key, value, errors);
    }
    if (config.bins < 2 || config.bins > 100) {
      errors.Add(drift->MarkOf("bins"), drift->Qualified("bins") + ": must be between 2 and 100");
    }
    analytics.drift = config;
  }
  if (auto cohorts = reader.Nested("cohorts")) {
    CohortsConfig config;
    cohorts->DurationField("interval", config.interval);
    cohorts->DurationField("timeout", config.timeout);
    cohorts->DurationField("lag", config.lag);
    cohorts->DurationField("window", config.window);
    cohorts->RejectUnknownKeys();
    RequirePositive(*cohorts, "interval", config.interval, errors);
    RequirePositive(*cohorts, "timeout", config.timeout, errors);
    RequirePositive(*cohorts, "window", config.window, errors);
    if (config.lag < Duration::zero()) {
      errors.Add(cohorts->MarkOf("lag"), cohorts->Qualified("lag") + ": must not be negative");
    }
    analytics.cohorts = config;
  }
  reader.RejectUnknownKeys();
  if (analytics.cost_per_recommendation < 0) {
    errors.Add(reader.MarkOf("cost_per_recommendation"),
               "analytics.cost_per_recommendation: must not be negative");
  }
  return analytics;
}

bool ValidLabelName(const std::string& name) {
  return ValidMetricName(name) && !name.starts_with("__") && name != "le" && name != "quantile";
}

// A histogram query counts one value column into its buckets; the buckets belong to it only.
void ValidateHistogramQuery(MapReader& reader, const QueryConfig& query, ErrorList& errors) {
  const auto& buckets = query.buckets;
  if (query.type != "histogram") {
    if (!buckets.empty()) {
      errors.Add(reader.MarkOf("buckets"),
                 reader.Qualified("buckets") + ": only for type histogram");
    }
    return;
  }
  if (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end()) ||
      std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end()) {
    errors.Add(reader.MarkOf("buckets"), reader.Qualified("buckets") +
                                             ": a histogram needs a non-empty, strictly "
                                             "ascending list");
  }
  if (query.values.size() > 1) {
    errors.Add(reader.MarkOf("values"),
               reader.Qualified("values") + ": a histogram counts exactly one value column");
  }
}

std::vector<QueryConfig> ReadQueries(const YAML::Node& node, ErrorList& errors,
                                     const EnvLookup& env) {
  std::set<std::string> names;
  return ReadList<QueryConfig>(
      node, "queries", errors, env, [&](MapReader& reader, QueryConfig& query) {
        reader.String("name", query.name, /*required=*/true);
        reader.String("help", query.help);
        reader.String("type", query.type);
        reader.String("sql", query.sql, /*required=*/true);
        reader.StringList("labels", query.labels);
        reader.StringList("values", query.values);
        reader.String("value_label", query.value_label);
        reader.StringMap("static_labels", query.static_labels);
        reader.DurationField("interval", query.interval);
        reader.DurationField("timeout", query.timeout);
        reader.Int64("max_series", query.max_series);
        reader.BucketList("buckets", query.buckets);
        if (auto incremental = reader.Nested("incremental")) {
          IncrementalQueryConfig config;
          incremental->String("table", config.table, /*required=*/true);
          incremental->String("id_column", config.id_column);
          incremental->RejectUnknownKeys();
          const std::string key = config.id_column.substr(config.id_column.rfind('.') + 1);
          if (!ValidMetricName(key)) {
            errors.Add(incremental->MarkOf("id_column"),
                       incremental->Qualified("id_column") + ": not a column name");
          }
          query.incremental = config;
        }
        if (!reader.valid()) return;
        if (!query.name.empty() && !ValidMetricName(query.name)) {
          errors.Add(reader.MarkOf("name"),
                     reader.Qualified("name") + ": \"" + query.name +
                         "\" is not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*)");
        } else if (IsReservedMetricName(query.name)) {
          errors.Add(reader.MarkOf("name"), reader.Qualified("name") + ": \"" + query.name +
                                                "\" collides with a built-in metric");
        } else if (!query.name.empty() && !names.insert(query.name).second) {
          errors.Add(reader.MarkOf("name"),
                     reader.Qualified("name") + ": duplicate name \"" + query.name + "\"");
        }
        if (query.type != "gauge" && query.type != "counter" && query.type != "histogram") {
          errors.Add(reader.MarkOf("type"),
                     reader.Qualified("type") + ": want gauge, counter or histogram");
        }
        ValidateHistogramQuery(reader, query, errors);
        if (query.values.empty()) {
          errors.Add(reader.MarkOf("values"),
                     reader.Qualified("values") + ": list at least one column");
        }
        std::set<std::string> label_names;
        const auto check_label = [&](const std::string& key, const std::string& label) {
          if (!ValidLabelName(label)) {
            errors.Add(reader.MarkOf(key),
                       reader.Qualified(key) + ": \"" + label + "\" is not a valid label name");
          } else if (!label_names.insert(label).second) {
            errors.Add(reader.MarkOf(key),
                       reader.Qualified(key) + ": label \"" + label + "\" is given twice");
          }
        };
        for (const std::string& label : query.labels) check_label("labels", label);
        for (const auto& [label, value] : query.static_labels) check_label("static_labels", label);
        if (query.values.size() > 1) check_label("value_label", query.value_label);
        RequirePositive(reader, "interval", query.interval, errors);
        RequirePositive(reader, "timeout", query.timeout, errors);
        if (query.max_series < 1) {
          errors.Add(reader.MarkOf("max_series"),
                     reader.Qualified("max_series") + ": must be at least 1");
        }
        const bool has_filter = query.sql.find("{filter}") != std::string::npos;
        if (query.incremental && query.type == "gauge") {
          errors.Add(reader.MarkOf("type"), reader.Qualified("type") +
                                                ": an incremental query exports a counter or a "
                                                "histogram");
        }
        if (query.incremental && !has_filter) {
          errors.Add(reader.MarkOf("sql"), reader.Qualified("sql") +
                                               ": an incremental query says where the id condition "
                                               "goes with {filter} (e.g. WHERE {filter})");
        }
        if (!query.incremental && has_filter) {
          errors.Add(reader.MarkOf("sql"),
                     reader.Qualified("sql") + ": {filter} is only for incremental queries");
        }
      });
}

std::vector<RegistryConfig> ReadRegistries(const YAML::Node& node, ErrorList& errors,
                                           const EnvLookup& env) {
  std::set<std::string> names;
  return ReadList<RegistryConfig>(
      node, "registries", errors, env, [&](MapReader& reader, RegistryConfig& registry) {
        ReadHttpClient(reader, registry, errors);
        reader.StringList("models", registry.models);
        reader.StringList("stages", registry.stages);
        reader.String("champion_alias", registry.champion_alias);
        if (!reader.valid()) return;
        ValidateHttpClient(reader, registry, names, errors);
        if (registry.models.empty()) {
          errors.Add(reader.MarkOf("models"),
                     reader.Qualified("models") + ": list at least one registered model");
        }
        if (registry.champion_alias.empty()) {
          errors.Add(reader.MarkOf("champion_alias"),
                     reader.Qualified("champion_alias") + ": must not be empty");
        }
      });
}

}  // namespace

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

Result<Config> LoadConfigText(std::string_view yaml, const std::string& source,
                              const EnvLookup& env) {
  ErrorList errors(source);
  YAML::Node root;
  try {
    if (!CheckDocument(yaml, errors)) return Status::Error(errors.Joined());
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    const std::optional<YAML::Mark> quote =
        e.msg == YAML::ErrorMsg::EOF_IN_SCALAR ? FindUnclosedQuote(WithoutBom(yaml)) : std::nullopt;
    if (quote) {
      errors.Add(*quote, "invalid YAML: the quote that opens here is never closed");
    } else {
      errors.Add(e.mark, "invalid YAML: " + e.msg);
    }
    return Status::Error(errors.Joined());
  }
  Config config;
  if (root.IsNull() || !root.IsDefined()) return config;  // An empty file: nothing to collect.
  try {
    MapReader reader(root, "", errors, env);
    if (reader.valid()) {
      if (const YAML::Node store = reader.Get("store"); store.IsDefined() && !store.IsNull()) {
        config.store = ReadStore(store, errors, env);
      }
      if (const YAML::Node endpoints = reader.Get("endpoints"); endpoints.IsDefined()) {
        config.endpoints = ReadEndpoints(endpoints, errors, env);
      }
      if (const YAML::Node registries = reader.Get("registries"); registries.IsDefined()) {
        config.registries = ReadRegistries(registries, errors, env);
      }
      if (const YAML::Node queries = reader.Get("queries"); queries.IsDefined()) {
        config.queries = ReadQueries(queries, errors, env);
        if (!config.queries.empty() && !config.store) {
          errors.Add(queries.Mark(), "queries: need a store section to run against");
        }
      }
      if (const YAML::Node retraining = reader.Get("retraining");
          retraining.IsDefined() && !retraining.IsNull()) {
        config.retraining = ReadRetraining(retraining, errors, env);
      }
      if (const YAML::Node analytics = reader.Get("analytics");
          analytics.IsDefined() && !analytics.IsNull()) {
        config.analytics = ReadAnalytics(analytics, errors, env);
        if (!config.store) {
          errors.Add(analytics.Mark(), "analytics: needs a store section to read from");
        }
      }
      reader.RejectUnknownKeys();
    }
  } catch (const YAML::Exception& e) {
    // For example a mapping used as a key: yaml-cpp cannot convert it to a string.
    errors.Add(e.mark, "invalid structure: " + e.msg);
  }
  if (!errors.empty()) return Status::Error(errors.Joined());
  return config;
}

std::map<std::string, TriggerSettings> DefaultRetrainingTriggers() {
  // z 3.7 / 4.3 (one-sided p 1e-4 / 9e-6): the daily tests run continuously on a sliding
  // day, so they must be far stricter than a one-off 95% test to stay below one false
  // ticket a year per model version (docs/ALERTS.md).
  return {
      {"PERFORMANCE_DROP",
       {{{"HIGH", 0.20}, {"MEDIUM", 0.10}},
        {{"zscore_high", 4.3},
         {"zscore_medium", 3.7},
         {"min_recommendations", 1000},
         {"min_baseline_purchases", 50}}}},
      {"SATISFACTION_DROP",
       {{{"HIGH", 0.20}, {"MEDIUM", 0.10}},
        {{"zscore_high", 4.3},
         {"zscore_medium", 3.7},
         {"min_feedback", 50},
         {"min_baseline_feedback", 100}}}},
      {"HIGH_RETURN_RATE", {{{"HIGH", 0.15}, {"MEDIUM", 0.15}}, {{"min_purchases", 50}}}},
      {"LOW_ACCEPTANCE_RATE", {{{"HIGH", 0.50}, {"MEDIUM", 0.50}}, {{"min_decided", 100}}}},
      {"NEW_DATA_THRESHOLD", {{{"LOW", 10000}}, {}}},
      {"MODEL_DRIFT", {{{"HIGH", 0.5}, {"MEDIUM", 0.3}}, {{"min_recommendations", 200}}}},
      {"HIGH_PREDICTION_LATENCY", {{{"MEDIUM", 1.0}}, {{"min_probes", 20}}}},
  };
}

Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env) {
  std::error_code error;  // the overload that throws would end a reload on EACCES or ENAMETOOLONG
  if (std::filesystem::is_directory(path, error)) {
    return Status::Error(path + ": is a directory, not a config file");
  }
  std::ifstream file(path);
  if (!file) return Status::Error(path + ": cannot open config file");
  std::stringstream text;
  text << file.rdbuf();
  return LoadConfigText(text.str(), path, env);
}

}  // namespace outcomes
