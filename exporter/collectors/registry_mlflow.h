// The MLflow model registry collector ("registry/<name>"): asks an MLflow tracking server, for
// each configured registered model, for its aliases (GET registered-models/get, MLflow 2.9+),
// the latest version in each configured stage (POST registered-models/get-latest-versions) and
// the creation time of every version they name (GET model-versions/get for those the first
// answers leave out). Exports model_registry_version_info, model_registry_alias_info,
// model_registry_champion_info and model_registry_version_created_timestamp_seconds, so a
// dashboard shows what Production, Staging and the aliases point to and an alert can compare
// that with the version an endpoint serves. Each model's requests run one after the other
// within one deadline (`timeout`); the models run in parallel. Asynchronous: runs on the
// io_context thread only.
#pragma once

#include <map>
#include <memory>

#include "exporter/collectors/factory.h"
#include "exporter/collectors/probe_collector.h"
#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/probe/http_client.h"

namespace outcomes {

class MlflowRegistryCollector : public WithSettings<ProbeCollector, RegistryConfig>,
                                public std::enable_shared_from_this<MlflowRegistryCollector> {
 public:
  static Result<std::shared_ptr<MlflowRegistryCollector>> Create(const RegistryConfig& config,
                                                                 HttpCollectorDeps deps);
  // With the real transport and clocks.
  static Result<std::shared_ptr<MlflowRegistryCollector>> Create(const RegistryConfig& config,
                                                                 Logger& log) {
    return Create(config, HttpCollectorDeps{log});
  }

  void CollectAsync(boost::asio::io_context& io, Done done) override;

  // One model version as the registry reports it; created_seconds < 0 when not reported.
  struct Version {
    std::string model;
    std::string version;
    std::string stage;
    double created_seconds = -1;
  };
  struct Alias {
    std::string model;
    std::string alias;
    std::string version;
  };
  // Parses a get-latest-versions response body; the error names what is wrong.
  static Result<std::vector<Version>> ParseLatestVersions(const std::string& body);
  // Parses a registered-models/get response body into the model's aliases.
  static Result<std::vector<Alias>> ParseAliases(const std::string& body);
  // Parses a model-versions/get response body.
  static Result<Version> ParseModelVersion(const std::string& body);

  // What one round learnt about the models; kept from the last successful round.
  struct Snapshot {
    std::vector<Version> stage_versions;
    std::vector<Alias> aliases;
    std::map<std::pair<std::string, std::string>, double> created_seconds;  // (model, version)
  };

 private:
  struct Round;
  struct ModelRound;
  MlflowRegistryCollector(const RegistryConfig& config, HttpClient client, HttpCollectorDeps deps);
  std::vector<prometheus::MetricFamily> BuildFamilies(bool up) const;
  // One GET (POST with a body) of the MLflow `api` under the server's base path, bounded by the
  // round's deadline; `done` gets the 200 body or an error naming the API and the reason.
  void Fetch(boost::asio::io_context& io, const std::shared_ptr<ModelRound>& model,
             const std::string& api, const std::string& query, std::string body,
             std::function<void(Result<std::string>)> done) const;
  // `model` by value: the callback that calls the next step is released once it returns.
  void ReadAliases(boost::asio::io_context& io, std::shared_ptr<ModelRound> model);
  void ReadStages(boost::asio::io_context& io, std::shared_ptr<ModelRound> model);
  void ReadCreationTimes(boost::asio::io_context& io, std::shared_ptr<ModelRound> model);
  void FinishModel(const std::shared_ptr<ModelRound>& model, const std::string& error);

  // settings(), by the name the reads use.
  const RegistryConfig& config_ = settings();
  const std::string base_path_;  // the URL's path without a trailing slash, e.g. "" or "/mlflow"
  HttpCollectorDeps deps_;
  Snapshot snapshot_;  // from the last successful round
};

// The factory of "registry/<name>": one collector per `registries` entry; an entry whose URL or TLS
// files cannot be used is reported.
void AddRegistryCollectors(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
