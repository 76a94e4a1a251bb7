// outcomes_exporter: the thin entry point. Parses flags, loads the config, and runs the App on
// one io_context until SIGTERM or SIGINT.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <sstream>

#include "exporter/app.h"
#include "exporter/flags.h"
#include "exporter/http/server.h"
#include "exporter/version.h"

namespace {

using outcomes::Status;

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

  const auto config = outcomes::LoadConfigFile(flags.config_file, outcomes::ProcessEnv());
  if (flags.config_check) {
    if (!config.ok()) {
      std::cerr << config.error() << "\n";
      return 1;
    }
    if (!flags.web_config_file.empty()) {
      const auto web = outcomes::LoadWebConfigFile(flags.web_config_file);
      if (!web.ok()) {
        std::cerr << web.error() << "\n";
        return 1;
      }
      // Loads the certificate, key and client CA as the server would.
      if (const Status tls = outcomes::HttpServer::CheckTls(web.value()); !tls.ok()) {
        std::cerr << flags.web_config_file << ": " << tls.message() << "\n";
        return 1;
      }
    }
    // Building the collectors (without running them) also checks URLs and TLS files.
    outcomes::CollectorContext context{log};
    const auto collectors = outcomes::BuildCollectors(config.value(), context);
    if (!collectors.ok()) {
      std::istringstream lines(collectors.error());
      for (std::string line; std::getline(lines, line);) {
        std::cerr << flags.config_file << ": " << line << "\n";
      }
      return 1;
    }
    std::cout << flags.config_file << ": configuration is valid\n";
    return 0;
  }
  if (!config.ok()) {
    log.Error("invalid configuration", {{"file", flags.config_file}, {"err", config.error()}});
    std::cerr << config.error() << "\n";
    return 1;
  }

  outcomes::WebConfig web;
  if (!flags.web_config_file.empty()) {
    auto loaded = outcomes::LoadWebConfigFile(flags.web_config_file);
    if (!loaded.ok()) {
      log.Error("invalid web configuration",
                {{"file", flags.web_config_file}, {"err", loaded.error()}});
      std::cerr << loaded.error() << "\n";
      return 1;
    }
    web = loaded.value();
  }

  boost::asio::io_context io;
  outcomes::App app(
      {flags.config_file, flags.listen_address, flags.telemetry_path, flags.web_config_file, web},
      build, log, io);
  boost::asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  boost::asio::signal_set reload_signals(io, SIGHUP);
  // Holds the io_context open until a stop signal arrives.
  auto guard = boost::asio::make_work_guard(io);

  stop_signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (error) return;
    log.Info("stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    reload_signals.cancel();
    guard.reset();
    io.stop();
  });
  std::function<void(const boost::system::error_code&, int)> on_hup =
      [&](const boost::system::error_code& error, int) {
        if (error) return;
        reload_signals.async_wait(on_hup);  // first, so that the next SIGHUP is always heard
        log.Info("SIGHUP received, reloading configuration");
        (void)app.Reload();  // never throws; a failure is logged and kept in a metric
      };
  reload_signals.async_wait(on_hup);

  const Status started = app.Start(config.value());
  if (!started.ok()) {
    log.Error("cannot start", {{"err", started.message()}});
    return 1;
  }
  std::string ports;  // the bound ports: with :0, the only place they are said
  for (const int port : app.http()->ports())
    ports += (ports.empty() ? "" : ",") + std::to_string(port);
  log.Info("listening", {{"address", flags.listen_address},
                         {"port", ports},
                         {"tls", web.tls() ? "true" : "false"},
                         {"basic_auth", web.basic_auth_users.empty() ? "false" : "true"},
                         {"telemetry_path", flags.telemetry_path},
                         {"version", build.version}});
  outcomes::RunEventLoop(io, log);
  const bool clean = app.Stop(std::chrono::seconds(3));
  log.Info(clean ? "stopped" : "stopped with collectors still running");
  return 0;
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
