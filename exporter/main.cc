// outcomes_exporter: the thin entry point. Parses flags, loads the files with LoadAll (as
// --config.check and every reload do), and runs the App on one io_context until SIGTERM or
// SIGINT.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <functional>
#include <iostream>

#include "exporter/app.h"
#include "exporter/flags.h"
#include "exporter/load_all.h"
#include "exporter/version.h"

namespace {

using outcomes::Status;

// SIGTERM and SIGINT stop the event loop, SIGHUP reloads; lives while the loop runs.
class Signals {
 public:
  Signals(boost::asio::io_context& io, outcomes::App& app, outcomes::Logger& log)
      : io_(io), app_(app), log_(log), guard_(boost::asio::make_work_guard(io)) {
    stop_.async_wait([this](const boost::system::error_code& error, int signal) {
      if (error) return;
      log_.Info("stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      reload_.cancel();
      guard_.reset();
      io_.stop();
    });
    WaitForHup();
  }

 private:
  void WaitForHup() {
    reload_.async_wait([this](const boost::system::error_code& error, int) {
      if (error) return;
      WaitForHup();  // first, so that the next SIGHUP is always heard
      log_.Info("SIGHUP received, reloading configuration");
      (void)app_.Reload();  // never throws; a failure is logged and kept in a metric
    });
  }

  boost::asio::io_context& io_;
  outcomes::App& app_;
  outcomes::Logger& log_;
  // Holds the io_context open until a stop signal arrives.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  boost::asio::signal_set stop_{io_, SIGTERM, SIGINT};
  boost::asio::signal_set reload_{io_, SIGHUP};
};

int CheckConfig(const outcomes::Flags& flags, outcomes::Logger& log) {
  outcomes::CollectorContext context{log};
  const auto files = outcomes::LoadAll({flags.config_file, flags.web_config_file},
                                       outcomes::ProcessEnv(), context);
  if (!files.ok()) {
    std::cerr << files.error() << "\n";
    return 1;
  }
  std::cout << flags.config_file << ": configuration is valid\n";
  return 0;
}

void LogListening(const outcomes::Flags& flags, const outcomes::App& app,
                  const outcomes::WebConfig& web, const outcomes::BuildInfo& build,
                  outcomes::Logger& log) {
  std::string ports;  // the bound ports: with :0, the only place they are said
  for (const int port : app.http()->ports()) {
    ports += (ports.empty() ? "" : ",") + std::to_string(port);
  }
  log.Info("listening", {{"address", flags.listen_address},
                         {"port", ports},
                         {"tls", web.tls() ? "true" : "false"},
                         {"basic_auth", web.basic_auth_users.empty() ? "false" : "true"},
                         {"telemetry_path", flags.telemetry_path},
                         {"version", build.version}});
}

int Serve(const outcomes::Flags& flags, const outcomes::BuildInfo& build, outcomes::Logger& log) {
  boost::asio::io_context io;
  outcomes::App app(
      {flags.config_file, flags.listen_address, flags.telemetry_path, flags.web_config_file}, build,
      log, io);
  auto files = app.Load();
  if (!files.ok()) {
    log.Error("invalid configuration", {{"file", flags.config_file}, {"err", files.error()}});
    std::cerr << files.error() << "\n";
    return 1;
  }
  const outcomes::WebConfig web = files.value().web;
  Signals signals(io, app, log);
  if (const Status started = app.Start(std::move(files).value()); !started.ok()) {
    log.Error("cannot start", {{"err", started.message()}});
    return 1;
  }
  LogListening(flags, app, web, build, log);
  outcomes::RunEventLoop(io, log);
  const bool clean = app.Stop(std::chrono::seconds(3));
  log.Info(clean ? "stopped" : "stopped with collectors still running");
  return 0;
}

int Run(const outcomes::Flags& flags) {
  const outcomes::BuildInfo build{outcomes::kVersion, outcomes::kRevision};
  if (flags.version) {
    std::cout << "outcomes_exporter, version " << build.version << " (revision " << build.revision
              << ")\n";
    return 0;
  }
  auto level = outcomes::ParseLogLevel(flags.log_level);
  auto format = outcomes::ParseLogFormat(flags.log_format);
  if (!level.ok() || !format.ok()) {
    std::cerr << "outcomes_exporter: " << (level.ok() ? format.error() : level.error()) << "\n";
    return 2;
  }
  outcomes::Logger log(std::cerr, level.value(), format.value());
  return flags.config_check ? CheckConfig(flags, log) : Serve(flags, build, log);
}

}  // namespace

int main(int argc, char** argv) try {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto flags = outcomes::ParseFlags(args);
  if (!flags.ok()) {
    std::cerr << "outcomes_exporter: " << flags.error() << "\n";
    return 2;
  }
  if (flags.value().help) {
    std::cout << outcomes::FlagsUsage();
    return 0;
  }
  return Run(flags.value());
} catch (const std::exception& e) {
  // Every expected failure is a Status; this is the last line of defence, with a reason.
  std::cerr << "outcomes_exporter: fatal: " << e.what() << "\n";
  return 1;
}
