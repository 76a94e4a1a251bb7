// The MLflow model registry collector ("registry/<name>"): asks an MLflow tracking server for
// the latest version of each configured registered model in each configured stage
// (POST /api/2.0/mlflow/registered-models/get-latest-versions) and exports them as
// model_registry_version_info, so a dashboard shows what Production and Staging point to and
// an alert can compare that with the version an endpoint serves. Asynchronous: runs on the
// io_context thread only.
#pragma once

#include <memory>

#include "exporter/collectors/collector.h"
#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/probe/http_client.h"

namespace outcomes {

class MlflowRegistryCollector : public Collector,
                                public std::enable_shared_from_this<MlflowRegistryCollector> {
 public:
  static Result<std::shared_ptr<MlflowRegistryCollector>> Create(const RegistryConfig& config,
                                                                 Logger& log);

  const std::string& name() const override { return name_; }
  Duration interval() const override { return config_.interval; }
  Duration timeout() const override { return config_.timeout + std::chrono::seconds(1); }
  bool asynchronous() const override { return true; }
  void CollectAsync(boost::asio::io_context& io, std::function<void(CollectOutput)> done) override;
  bool SameConfig(const Collector& other) const override;

  // One model version as the registry reports it.
  struct Version {
    std::string model;
    std::string version;
    std::string stage;
  };
  // Parses a get-latest-versions response body; the error names what is wrong.
  static Result<std::vector<Version>> ParseLatestVersions(const std::string& body);

 private:
  MlflowRegistryCollector(RegistryConfig config, HttpClient client, Logger& log);
  std::vector<prometheus::MetricFamily> BuildFamilies(bool up) const;

  const RegistryConfig config_;
  const std::string name_;
  const HttpClient client_;
  Logger& log_;
  std::vector<Version> versions_;  // from the last successful cycle
};

}  // namespace outcomes
