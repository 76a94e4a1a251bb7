#include "exporter/collectors/registry_mlflow.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

constexpr const char* kApiPrefix = "/api/2.0/mlflow/";
constexpr const char* kRegisteredModel = "registered-models/get";
constexpr const char* kLatestVersions = "registered-models/get-latest-versions";
constexpr const char* kModelVersion = "model-versions/get";

// A query-string value, percent-encoded but for RFC 3986's unreserved characters.
std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A JSON string or number as text ("version": "7" or 7), "" when absent.
std::string Text(const nlohmann::json& item, const char* key) {
  const auto it = item.find(key);
  if (it == item.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// creation_timestamp, in milliseconds as a number or a numeric string, as Unix seconds; -1
// when absent or not a number.
double CreatedSeconds(const nlohmann::json& item) {
  const auto it = item.find("creation_timestamp");
  if (it == item.end()) return -1;
  if (it->is_number()) return it->get<double>() / 1000;
  if (it->is_string()) {
    try {
      return static_cast<double>(std::stoll(it->get<std::string>())) / 1000;
    } catch (const std::exception&) {
      return -1;
    }
  }
  return -1;
}

Result<nlohmann::json> ParseObject(const std::string& body) {
  nlohmann::json document = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return Status::Error("response is not a JSON object");
  }
  return document;
}

// `items` in the order of the configured models, each model's in the order the registry gave
// them. The models are asked in parallel, so the order their answers arrive in varies from
// round to round; /metrics should not.
template <typename Item>
std::vector<const Item*> InModelOrder(const std::vector<Item>& items,
                                      const std::vector<std::string>& models) {
  std::vector<const Item*> ordered;
  ordered.reserve(items.size());
  for (const Item& item : items) ordered.push_back(&item);
  const auto rank = [&models](const Item* item) {
    return std::find(models.begin(), models.end(), item->model) - models.begin();
  };
  std::stable_sort(ordered.begin(), ordered.end(),
                   [&rank](const Item* a, const Item* b) { return rank(a) < rank(b); });
  return ordered;
}

}  // namespace

// The state of one round, shared by the requests of every model.
struct MlflowRegistryCollector::Round {
  std::shared_ptr<MlflowRegistryCollector> self;
  std::size_t pending_models = 0;
  Snapshot snapshot;
  std::string errors;
  std::chrono::steady_clock::time_point deadline;
  std::function<void(CollectOutput)> done;
};

// One model's requests, made one after the other.
struct MlflowRegistryCollector::ModelRound {
  std::shared_ptr<Round> round;
  std::string model;
  std::vector<std::string> missing_versions;  // named by an alias, creation time not yet known
};

Result<std::shared_ptr<MlflowRegistryCollector>> MlflowRegistryCollector::Create(
    const RegistryConfig& config, HttpCollectorDeps deps) {
  Result<HttpClient> client = MakeHttpClient(config, "registry " + config.name, deps.log);
  if (!client.ok()) return client.status();
  return std::shared_ptr<MlflowRegistryCollector>(
      new MlflowRegistryCollector(config, client.value(), std::move(deps)));
}

MlflowRegistryCollector::MlflowRegistryCollector(const RegistryConfig& config, HttpClient client,
                                                 HttpCollectorDeps deps)
    : WithSettings(config, "registry", config, std::move(client), deps.log),
      // The configured URL is the tracking server's base; the API paths are appended to it.
      base_path_(client_.url.target.substr(0, client_.url.target.find_last_not_of('/') + 1)),
      deps_(std::move(deps)) {}

Result<std::vector<MlflowRegistryCollector::Version>> MlflowRegistryCollector::ParseLatestVersions(
    const std::string& body) {
  Result<nlohmann::json> document = ParseObject(body);
  if (!document.ok()) return document.status();
  std::vector<Version> versions;
  const auto list = document.value().find("model_versions");
  if (list == document.value().end()) return versions;  // no version in the asked stages
  if (!list->is_array()) return Status::Error("model_versions is not a list");
  for (const nlohmann::json& item : *list) {
    if (!item.is_object() || Text(item, "name").empty() || Text(item, "version").empty()) {
      return Status::Error("a model_versions entry lacks name or version");
    }
    versions.push_back({Text(item, "name"), Text(item, "version"), Text(item, "current_stage"),
                        CreatedSeconds(item)});
  }
  return versions;
}

Result<std::vector<MlflowRegistryCollector::Alias>> MlflowRegistryCollector::ParseAliases(
    const std::string& body) {
  Result<nlohmann::json> document = ParseObject(body);
  if (!document.ok()) return document.status();
  const auto model = document.value().find("registered_model");
  if (model == document.value().end() || !model->is_object()) {
    return Status::Error("registered_model is missing");
  }
  std::vector<Alias> aliases;
  const auto list = model->find("aliases");
  if (list == model->end()) return aliases;  // none set, or an MLflow before 2.3
  if (!list->is_array()) return Status::Error("aliases is not a list");
  for (const nlohmann::json& item : *list) {
    if (!item.is_object() || Text(item, "alias").empty() || Text(item, "version").empty()) {
      return Status::Error("an aliases entry lacks alias or version");
    }
    aliases.push_back({Text(*model, "name"), Text(item, "alias"), Text(item, "version")});
  }
  return aliases;
}

Result<MlflowRegistryCollector::Version> MlflowRegistryCollector::ParseModelVersion(
    const std::string& body) {
  Result<nlohmann::json> document = ParseObject(body);
  if (!document.ok()) return document.status();
  const auto item = document.value().find("model_version");
  if (item == document.value().end() || !item->is_object() || Text(*item, "version").empty()) {
    return Status::Error("model_version is missing or lacks its version");
  }
  return Version{Text(*item, "name"), Text(*item, "version"), Text(*item, "current_stage"),
                 CreatedSeconds(*item)};
}

void MlflowRegistryCollector::Fetch(boost::asio::io_context& io,
                                    const std::shared_ptr<ModelRound>& model,
                                    const std::string& api, const std::string& query,
                                    std::string body,
                                    std::function<void(Result<std::string>)> done) const {
  const auto left = std::chrono::duration_cast<Duration>(model->round->deadline - deps_.now());
  if (left <= Duration::zero()) {
    done(Status::Error(api + ": no time left in the round's timeout"));
    return;
  }
  ProbeRequest request = MakeRequest(config_, client_);
  request.url.target = base_path_ + kApiPrefix + api + (query.empty() ? "" : "?" + query);
  request.method = body.empty() ? "GET" : "POST";
  request.body = std::move(body);
  request.timeout = left;
  deps_.transport->Start(
      io, std::move(request), [api, done = std::move(done)](const ProbeResponse& response) {
        if (response.failure != ProbeFailure::kNone) {
          done(Status::Error(api + ": " + response.error));
        } else if (response.status_code != 200) {
          done(Status::Error(api + ": HTTP status " + std::to_string(response.status_code)));
        } else {
          done(response.body);
        }
      });
}

void MlflowRegistryCollector::CollectAsync(boost::asio::io_context& io,
                                           std::function<void(CollectOutput)> done) {
  auto round = std::make_shared<Round>();
  round->self = shared_from_this();
  round->pending_models = config_.models.size();
  round->deadline = deps_.now() + config_.timeout;
  round->done = std::move(done);
  for (const std::string& model : config_.models) {
    ReadAliases(io, std::make_shared<ModelRound>(ModelRound{round, model, {}}));
  }
}

// A model's round: its aliases, then its stages, then the creation times still missing.
void MlflowRegistryCollector::ReadAliases(
    boost::asio::io_context& io,
    std::shared_ptr<ModelRound> model) {  // NOLINT(performance-unnecessary-value-param)
  Fetch(io, model, kRegisteredModel, "name=" + UrlEncode(model->model), "",
        [this, &io, model](Result<std::string> body) {
          if (!body.ok()) return FinishModel(model, body.error());
          Result<std::vector<Alias>> aliases = ParseAliases(body.value());
          if (!aliases.ok()) {
            return FinishModel(model, std::string(kRegisteredModel) + ": " + aliases.error());
          }
          for (Alias& alias : aliases.value()) {
            alias.model = model->model;
            model->round->snapshot.aliases.push_back(std::move(alias));
          }
          ReadStages(io, model);
        });
}

void MlflowRegistryCollector::ReadStages(
    boost::asio::io_context& io,
    std::shared_ptr<ModelRound> model) {  // NOLINT(performance-unnecessary-value-param)
  if (config_.stages.empty()) return ReadCreationTimes(io, model);
  Fetch(io, model, kLatestVersions, "",
        nlohmann::json{{"name", model->model}, {"stages", config_.stages}}.dump(),
        [this, &io, model](Result<std::string> body) {
          if (!body.ok()) return FinishModel(model, body.error());
          Result<std::vector<Version>> versions = ParseLatestVersions(body.value());
          if (!versions.ok()) {
            return FinishModel(model, std::string(kLatestVersions) + ": " + versions.error());
          }
          Snapshot& snapshot = model->round->snapshot;
          for (const Version& version : versions.value()) {
            if (version.created_seconds >= 0) {
              snapshot.created_seconds[{version.model, version.version}] = version.created_seconds;
            }
            snapshot.stage_versions.push_back(version);
          }
          ReadCreationTimes(io, model);
        });
}

void MlflowRegistryCollector::ReadCreationTimes(
    boost::asio::io_context& io,
    std::shared_ptr<ModelRound> model) {  // NOLINT(performance-unnecessary-value-param)
  const Snapshot& snapshot = model->round->snapshot;
  if (model->missing_versions.empty()) {
    // First call: every version an alias names whose creation time no answer gave yet.
    std::set<std::string> missing;
    for (const Alias& alias : snapshot.aliases) {
      if (alias.model == model->model &&
          !snapshot.created_seconds.contains({model->model, alias.version})) {
        missing.insert(alias.version);
      }
    }
    if (missing.empty()) return FinishModel(model, "");
    model->missing_versions.assign(missing.begin(), missing.end());
  }
  const std::string version = model->missing_versions.back();
  Fetch(io, model, kModelVersion,
        "name=" + UrlEncode(model->model) + "&version=" + UrlEncode(version), "",
        [this, &io, model, version](Result<std::string> body) {
          if (!body.ok()) return FinishModel(model, body.error());
          Result<Version> parsed = ParseModelVersion(body.value());
          if (!parsed.ok()) {
            return FinishModel(model, std::string(kModelVersion) + ": " + parsed.error());
          }
          if (parsed.value().created_seconds >= 0) {
            model->round->snapshot.created_seconds[{model->model, version}] =
                parsed.value().created_seconds;
          }
          model->missing_versions.pop_back();
          if (model->missing_versions.empty()) return FinishModel(model, "");
          ReadCreationTimes(io, model);
        });
}

void MlflowRegistryCollector::FinishModel(const std::shared_ptr<ModelRound>& model,
                                          const std::string& error) {
  Round& round = *model->round;
  if (!error.empty()) {
    if (!round.errors.empty()) round.errors += "; ";
    round.errors += "model " + model->model + ": " + error;
  }
  if (--round.pending_models > 0) return;
  CollectOutput output;
  const bool up = round.errors.empty();
  if (up) {
    snapshot_ = std::move(round.snapshot);
  } else {
    output.status = Status::Error(ErrorPrefix() + round.errors);
  }
  output.families = BuildFamilies(up);
  round.done(std::move(output));
}

std::vector<prometheus::MetricFamily> MlflowRegistryCollector::BuildFamilies(bool up) const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  auto up_family =
      MakeFamily("model_registry_up", "1 when the last query of every configured model succeeded.",
                 MetricType::Gauge);
  AddSample(up_family, {{"registry", config_.name}}, up ? 1 : 0);
  families.push_back(std::move(up_family));
  auto info = MakeFamily("model_registry_version_info",
                         "Latest version of a registered model in a stage, as the registry "
                         "last reported it (value 1).",
                         MetricType::Gauge);
  for (const Version* version : InModelOrder(snapshot_.stage_versions, config_.models)) {
    AddSample(info,
              {{"registry", config_.name},
               {"model_name", version->model},
               {"model_version", version->version},
               {"stage", version->stage}},
              1);
  }
  auto aliases = MakeFamily("model_registry_alias_info",
                            "Version a registered model's alias points to, as the registry last "
                            "reported it (value 1).",
                            MetricType::Gauge);
  auto champion = MakeFamily("model_registry_champion_info",
                             "Version the registry's champion alias (champion_alias) points to: "
                             "the version endpoints should serve (value 1).",
                             MetricType::Gauge);
  for (const Alias* alias : InModelOrder(snapshot_.aliases, config_.models)) {
    const Labels labels = {{"registry", config_.name},
                           {"model_name", alias->model},
                           {"alias", alias->alias},
                           {"model_version", alias->version}};
    AddSample(aliases, labels, 1);
    if (alias->alias == config_.champion_alias) AddSample(champion, labels, 1);
  }
  auto created = MakeFamily("model_registry_version_created_timestamp_seconds",
                            "When a model version named by a stage or an alias was created in "
                            "the registry, Unix seconds.",
                            MetricType::Gauge);
  for (const auto& [key, seconds] : snapshot_.created_seconds) {
    AddSample(
        created,
        {{"registry", config_.name}, {"model_name", key.first}, {"model_version", key.second}},
        seconds);
  }
  for (auto* family : {&info, &aliases, &champion, &created}) {
    if (!family->metric.empty()) families.push_back(std::move(*family));
  }
  return families;
}

void AddRegistryCollectors(const Config& config, CollectorContext& context, CollectorSet& out) {
  for (const auto& entry : config.registries)
    out.AddOrFail(MlflowRegistryCollector::Create(entry, context.log));
}

}  // namespace outcomes
