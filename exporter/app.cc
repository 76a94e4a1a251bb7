#include "exporter/app.h"

#include <boost/asio/post.hpp>
#include <future>

#include "exporter/http/landing_page.h"
#include "exporter/metrics/process.h"

namespace outcomes {

App::App(AppOptions options, BuildInfo build, Logger& log, boost::asio::io_context& io)
    : options_(std::move(options)),
      build_(std::move(build)),
      log_(log),
      io_(io),
      collector_context_{log},
      scheduler_(io, log) {}

App::~App() {
  try {
    Stop(std::chrono::seconds(2));
  } catch (...) {
    // Nothing can be reported from a destructor; the process is ending.
  }
}

Result<LoadedFiles> App::Load() {
  return LoadAll({options_.config_file, options_.web_config_file}, options_.env,
                 collector_context_);
}

Status App::Start(const Config& config) {
  Result<std::vector<std::shared_ptr<Collector>>> collectors =
      BuildCollectorsOf(config, options_.config_file, collector_context_);
  if (!collectors.ok()) return collectors.status();
  return Start(LoadedFiles{config, WebConfig{}, std::move(collectors).value()});
}

Status App::Start(LoadedFiles files) {
  scheduler_.Apply(files.collectors);
  {
    const std::lock_guard<std::mutex> lock(reload_mutex_);
    reload_ = {true, std::chrono::system_clock::now()};
  }
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(options_.listen_address, Routes(), log_, files.web);
  if (!server.ok()) return server.status();
  http_ = std::move(server).value();
  return Status::Ok();
}

Status App::Reload() {
  Status status = Status::Ok();
  try {
    status = ApplyFiles();
  } catch (const std::exception& e) {
    // Every expected failure is a Status; a reload still must never end the process.
    status = Status::Error(std::string("unexpected exception: ") + e.what());
  } catch (...) {
    status = Status::Error("unexpected exception of an unknown type");
  }
  {
    const std::lock_guard<std::mutex> lock(reload_mutex_);
    reload_.last_successful = status.ok();
    if (status.ok()) reload_.last_success_time = std::chrono::system_clock::now();
  }
  if (!status.ok()) {
    log_.Error("config reload failed; keeping the running configuration",
               {{"file", options_.config_file}, {"err", status.message()}});
    return status;
  }
  log_.Info("config reloaded", {{"file", options_.config_file}});
  return Status::Ok();
}

// Everything is read and built before anything is applied, so that a reload is all or nothing.
Status App::ApplyFiles() {
  Result<LoadedFiles> files = Load();
  if (!files.ok()) return files.status();
  if (!options_.web_config_file.empty() && http_) {
    if (Status applied = http_->Reconfigure(files.value().web); !applied.ok()) {
      return Status::Error(options_.web_config_file + ": " + applied.message());
    }
  }
  scheduler_.Apply(files.value().collectors);
  return Status::Ok();
}

Status App::ReloadAndWait() {
  try {
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> result = done->get_future();
    boost::asio::post(io_, [this, done] { done->set_value(Reload()); });
    if (io_.stopped()) return Status::Error("the exporter is stopping");
    if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      return Status::Error("reload did not finish within 10s");
    }
    return result.get();
  } catch (const std::exception& e) {
    // For example a broken promise when the io thread drops the reload at shutdown.
    return Status::Error(std::string("reload failed: ") + e.what());
  }
}

bool App::Stop(Duration grace) {
  http_.reset();
  return scheduler_.Stop(grace);
}

ReloadState App::reload_state() const {
  const std::lock_guard<std::mutex> lock(reload_mutex_);
  return reload_;
}

std::shared_ptr<const PreparedFamilies> App::BuildOwnFamilies() const {
  std::vector<prometheus::MetricFamily> families =
      SelfMetrics(build_, scheduler_.States(), reload_state());
  std::vector<prometheus::MetricFamily> process = ProcessMetrics();
  families.insert(families.end(), std::make_move_iterator(process.begin()),
                  std::make_move_iterator(process.end()));
  return std::make_shared<const PreparedFamilies>(families);
}

// Reading /proc and formatting the per-collector health cost more than the rest of a scrape
// (measured: 0.15 ms of 0.2 ms), so they are reused for up to kOwnFamiliesMaxAge. They are
// built anew as soon as a cycle ends or a reload is recorded, so the collector health always
// matches the families served with it; only the process_* values may be that much old.
std::shared_ptr<const PreparedFamilies> App::OwnFamilies(
    const std::vector<PreparedPart>& parts) const {
  constexpr auto kOwnFamiliesMaxAge = std::chrono::seconds(1);
  const ReloadState reload = reload_state();
  const auto now = std::chrono::steady_clock::now();
  const std::lock_guard<std::mutex> lock(own_mutex_);
  const bool fresh = own_.families && own_.parts == parts &&
                     now - own_.built < kOwnFamiliesMaxAge &&
                     own_.reload.last_successful == reload.last_successful &&
                     own_.reload.last_success_time == reload.last_success_time;
  if (!fresh) own_ = {parts, reload, now, BuildOwnFamilies()};
  return own_.families;
}

std::string App::MetricsText() const {
  const std::vector<PreparedPart> parts = scheduler_.Prepared();
  return exposition_.Text(parts, OwnFamilies(parts));
}

std::string App::MetricsGzip() const {
  const std::vector<PreparedPart> parts = scheduler_.Prepared();
  return exposition_.Gzip(parts, OwnFamilies(parts));
}

HttpResponse App::ServeMetrics(const HttpRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    return HttpResponse{
        405, "text/plain; charset=utf-8", "method not allowed\n", {{"Allow", "GET"}}};
  }
  const char* const content_type = "text/plain; version=0.0.4; charset=utf-8";
  // Vary on both answers, so that a cache in between never hands gzip to a client without it.
  if (AcceptsGzip(request.accept_encoding)) {
    return HttpResponse{200,
                        content_type,
                        MetricsGzip(),
                        {{"Content-Encoding", "gzip"}, {"Vary", "Accept-Encoding"}}};
  }
  return HttpResponse{200, content_type, MetricsText(), {{"Vary", "Accept-Encoding"}}};
}

std::map<std::string, HttpHandler> App::Routes() {
  std::map<std::string, HttpHandler> routes;
  routes[options_.telemetry_path] = [this](const HttpRequest& request) {
    return ServeMetrics(request);
  };
  routes["/-/healthy"] = [](const HttpRequest&) {
    return HttpResponse{200, "text/plain; charset=utf-8", "Healthy\n", {}};
  };
  routes["/-/ready"] = [this](const HttpRequest&) {
    // Ready once every collector finished its first cycle, so a first scrape is never empty.
    for (const CollectorState& state : scheduler_.States()) {
      if (!state.has_run) {
        return HttpResponse{503,
                            "text/plain; charset=utf-8",
                            "Not ready: collector " + state.name + " has not run yet\n",
                            {}};
      }
    }
    return HttpResponse{200, "text/plain; charset=utf-8", "Ready\n", {}};
  };
  routes["/-/reload"] = [this](const HttpRequest& request) {
    if (request.method != "POST" && request.method != "PUT") {
      return HttpResponse{405,
                          "text/plain; charset=utf-8",
                          "use POST /-/reload to reload the configuration\n",
                          {{"Allow", "POST, PUT"}}};
    }
    const Status status = ReloadAndWait();
    if (!status.ok()) {
      return HttpResponse{500,
                          "text/plain; charset=utf-8",
                          "failed to reload config:\n" + status.message() + "\n",
                          {}};
    }
    return HttpResponse{200, "text/plain; charset=utf-8", "config reloaded\n", {}};
  };
  routes["/"] = [this](const HttpRequest&) {
    return HttpResponse{200,
                        "text/html; charset=utf-8",
                        RenderLandingPage(build_, options_.telemetry_path, scheduler_.States(),
                                          reload_state(), options_.config_file),
                        {}};
  };
  return routes;
}

}  // namespace outcomes
