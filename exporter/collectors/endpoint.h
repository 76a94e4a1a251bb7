// The model endpoint collector ("endpoint/<name>"): probes one model-serving URL on its own
// interval, asynchronously on the io_context thread (so one thread drives any number of
// endpoints), and exports up, latency histogram, status code, failures by reason, model_info
// and numeric fields read from the JSON body with JSON Pointers, and for https the expiry of
// the certificate chain the server presents. Runs on the io thread only.
#pragma once

#include <map>
#include <memory>
#include <optional>

#include "exporter/collectors/factory.h"
#include "exporter/collectors/probe_collector.h"
#include "exporter/config/config.h"
#include "exporter/core/log.h"
#include "exporter/probe/http_client.h"

namespace outcomes {

class EndpointCollector : public WithSettings<ProbeCollector, EndpointConfig>,
                          public std::enable_shared_from_this<EndpointCollector> {
 public:
  // Fails when the URL or TLS files cannot be used (e.g. an unreadable CA file).
  static Result<std::shared_ptr<EndpointCollector>> Create(const EndpointConfig& config,
                                                           HttpCollectorDeps deps);
  // With the real transport and clocks.
  static Result<std::shared_ptr<EndpointCollector>> Create(const EndpointConfig& config,
                                                           Logger& log) {
    return Create(config, HttpCollectorDeps{log});
  }

  void CollectAsync(boost::asio::io_context& io, Done done) override;

 private:
  EndpointCollector(const EndpointConfig& config, HttpClient client, HttpCollectorDeps deps);
  CollectOutput Record(ProbeResponse response);
  // Reads model_info and the fields from a JSON body; returns the problems found.
  std::vector<std::string> Extract(const std::string& body);
  // The first `expect` entry the JSON body does not meet, as an error; "" when all are met.
  std::string UnmetExpectation(const std::string& body) const;
  std::vector<prometheus::MetricFamily> BuildFamilies() const;
  // The parts of BuildFamilies: the probe's own health, then what the body reported.
  void AddProbeFamilies(std::vector<prometheus::MetricFamily>& families) const;
  void AddBodyFamilies(std::vector<prometheus::MetricFamily>& families) const;
  bool ValidStatus(int code) const;

  // settings(), by the name the reads use.
  const EndpointConfig& config_ = settings();
  HttpCollectorDeps deps_;

  // Cumulative since start, exported as counters and a histogram.
  std::vector<std::uint64_t> bucket_counts_;  // one per config_.buckets entry, not cumulative
  std::uint64_t probe_count_ = 0;
  double probe_seconds_sum_ = 0;
  std::map<ProbeFailure, std::uint64_t> failures_;
  std::uint64_t extraction_errors_ = 0;
  // From the last probe.
  bool up_ = false;
  int status_code_ = 0;
  double last_success_seconds_ = 0;
  std::optional<std::array<std::string, 3>> model_info_;  // name, version, stage
  std::map<std::string, double> field_values_;            // by metric name
  std::string last_extraction_problem_;
  // From the last TLS handshake that succeeded: the earliest notAfter of the server's chain.
  std::optional<double> tls_not_after_seconds_;
};

// The factory of "endpoint/<name>": one collector per `endpoints` entry; an entry whose URL or TLS
// files cannot be used is reported.
void AddEndpointCollectors(const Config& config, CollectorContext& context, CollectorSet& out);

}  // namespace outcomes
