#include "exporter/collectors/registry_mlflow.h"

#include <nlohmann/json.hpp>

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

constexpr const char* kLatestVersionsPath = "/api/2.0/mlflow/registered-models/get-latest-versions";

// The results of one cycle's requests, one per model, gathered before the cycle ends.
struct Cycle {
  std::size_t pending = 0;
  std::vector<MlflowRegistryCollector::Version> versions;
  std::string errors;
  std::function<void(CollectOutput)> done;
};

}  // namespace

Result<std::shared_ptr<MlflowRegistryCollector>> MlflowRegistryCollector::Create(
    const RegistryConfig& config, Logger& log) {
  RegistryConfig resolved = config;
  // The configured URL is the tracking server's base; the API path is appended.
  while (!resolved.url.empty() && resolved.url.back() == '/') resolved.url.pop_back();
  resolved.url += kLatestVersionsPath;
  Result<HttpClient> client = MakeHttpClient(resolved, "registry " + config.name, log);
  if (!client.ok()) return client.status();
  return std::shared_ptr<MlflowRegistryCollector>(
      new MlflowRegistryCollector(config, client.value(), log));
}

MlflowRegistryCollector::MlflowRegistryCollector(RegistryConfig config, HttpClient client,
                                                 Logger& log)
    : config_(std::move(config)),
      name_("registry/" + config_.name),
      client_(std::move(client)),
      log_(log) {}

bool MlflowRegistryCollector::SameConfig(const Collector& other) const {
  const auto* registry = dynamic_cast<const MlflowRegistryCollector*>(&other);
  return registry != nullptr && registry->config_ == config_;
}

Result<std::vector<MlflowRegistryCollector::Version>> MlflowRegistryCollector::ParseLatestVersions(
    const std::string& body) {
  const nlohmann::json document = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return Status::Error("response is not a JSON object");
  }
  std::vector<Version> versions;
  const auto list = document.find("model_versions");
  if (list == document.end()) return versions;  // no version in the asked stages
  if (!list->is_array()) return Status::Error("model_versions is not a list");
  for (const nlohmann::json& item : *list) {
    const auto text = [&item](const char* key) -> std::string {
      const auto it = item.find(key);
      if (it == item.end()) return "";
      return it->is_string() ? it->get<std::string>() : it->dump();
    };
    if (!item.is_object() || text("name").empty() || text("version").empty()) {
      return Status::Error("a model_versions entry lacks name or version");
    }
    versions.push_back({text("name"), text("version"), text("current_stage")});
  }
  return versions;
}

void MlflowRegistryCollector::CollectAsync(boost::asio::io_context& io,
                                           std::function<void(CollectOutput)> done) {
  auto cycle = std::make_shared<Cycle>();
  cycle->pending = config_.models.size();
  cycle->done = std::move(done);
  for (const std::string& model : config_.models) {
    ProbeRequest request = MakeRequest(config_, client_);
    request.method = "POST";
    request.body = nlohmann::json{{"name", model}, {"stages", config_.stages}}.dump();
    StartHttpProbe(
        io, std::move(request),
        [self = shared_from_this(), cycle, model](const ProbeResponse& response) {
          std::string error;
          if (response.failure != ProbeFailure::kNone) {
            error = response.error;
          } else if (response.status_code != 200) {
            error = "HTTP status " + std::to_string(response.status_code);
          } else if (Result<std::vector<Version>> parsed = ParseLatestVersions(response.body);
                     parsed.ok()) {
            cycle->versions.insert(cycle->versions.end(), parsed.value().begin(),
                                   parsed.value().end());
          } else {
            error = parsed.error();
          }
          if (!error.empty()) {
            if (!cycle->errors.empty()) cycle->errors += "; ";
            cycle->errors += "model " + model + ": " + error;
          }
          if (--cycle->pending > 0) return;
          CollectOutput output;
          const bool up = cycle->errors.empty();
          if (up) {
            self->versions_ = std::move(cycle->versions);
          } else {
            output.status = Status::Error("registry " + self->config_.name + ": " + cycle->errors);
          }
          output.families = self->BuildFamilies(up);
          cycle->done(std::move(output));
        });
  }
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
  for (const Version& version : versions_) {
    AddSample(info,
              {{"registry", config_.name},
               {"model_name", version.model},
               {"model_version", version.version},
               {"stage", version.stage}},
              1);
  }
  if (!info.metric.empty()) families.push_back(std::move(info));
  return families;
}

}  // namespace outcomes
