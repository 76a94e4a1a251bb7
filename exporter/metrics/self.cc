#include "exporter/metrics/self.h"

#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

double Seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

}  // namespace

std::vector<prometheus::MetricFamily> SelfMetrics(const BuildInfo& build,
                                                  const std::vector<CollectorState>& collectors,
                                                  const ReloadState& reload) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;

  auto info = MakeFamily("outcomes_exporter_build_info",
                         "A metric with a constant '1' value labeled by version and revision.",
                         MetricType::Gauge);
  AddSample(info, {{"version", build.version}, {"revision", build.revision}}, 1);
  out.push_back(std::move(info));

  auto success = MakeFamily("outcomes_exporter_collector_success",
                            "1 when the collector's last cycle succeeded.", MetricType::Gauge);
  auto duration = MakeFamily("outcomes_exporter_collector_duration_seconds",
                             "Duration of the collector's last cycle.", MetricType::Gauge);
  auto last_success = MakeFamily("outcomes_exporter_collector_last_success_timestamp_seconds",
                                 "When the collector's last successful cycle ended (0 if never).",
                                 MetricType::Gauge);
  for (const CollectorState& state : collectors) {
    const Labels labels = {{"collector", state.name}};
    AddSample(success, labels, state.has_run && state.success ? 1 : 0);
    AddSample(duration, labels, state.last_duration_seconds);
    AddSample(last_success, labels,
              state.last_success.time_since_epoch().count() == 0 ? 0 : Seconds(state.last_success));
  }
  out.push_back(std::move(success));
  out.push_back(std::move(duration));
  out.push_back(std::move(last_success));

  auto reload_ok = MakeFamily("outcomes_exporter_config_last_reload_successful",
                              "1 when the last configuration reload succeeded.", MetricType::Gauge);
  AddSample(reload_ok, {}, reload.last_successful ? 1 : 0);
  out.push_back(std::move(reload_ok));
  auto reload_time =
      MakeFamily("outcomes_exporter_config_last_reload_success_timestamp_seconds",
                 "When the configuration was last loaded successfully.", MetricType::Gauge);
  AddSample(reload_time, {}, Seconds(reload.last_success_time));
  out.push_back(std::move(reload_time));
  return out;
}

}  // namespace outcomes
