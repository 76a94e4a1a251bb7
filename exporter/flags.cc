#include "exporter/flags.h"

namespace outcomes {

Result<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags flags;
  struct StringFlag {
    const char* name;
    std::string* target;
  };
  const StringFlag string_flags[] = {
      {"--config.file", &flags.config_file},
      {"--web.listen-address", &flags.listen_address},
      {"--web.telemetry-path", &flags.telemetry_path},
      {"--web.config.file", &flags.web_config_file},
      {"--log.level", &flags.log_level},
      {"--log.format", &flags.log_format},
  };
  struct BoolFlag {
    const char* name;
    bool* target;
  };
  const BoolFlag bool_flags[] = {
      {"--config.check", &flags.config_check},
      {"--version", &flags.version},
      {"--help", &flags.help},
      {"-h", &flags.help},
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const std::size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    bool matched = false;
    for (const StringFlag& flag : string_flags) {
      if (name != flag.name) continue;
      matched = true;
      if (equals != std::string::npos) {
        *flag.target = arg.substr(equals + 1);
      } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
        *flag.target = args[++i];
      } else {
        return Status::Error("flag " + name + " needs a value");
      }
    }
    for (const BoolFlag& flag : bool_flags) {
      if (name != flag.name) continue;
      matched = true;
      const std::string value = equals == std::string::npos ? "true" : arg.substr(equals + 1);
      if (value != "true" && value != "false") {
        return Status::Error("flag " + name + R"( takes true or false, not ")" + value + "\"");
      }
      *flag.target = value == "true";
    }
    if (!matched) return Status::Error("unknown flag " + name + " (see --help)");
  }
  if (flags.telemetry_path.empty() || flags.telemetry_path.front() != '/' ||
      flags.telemetry_path.starts_with("/-/") || flags.telemetry_path == "/") {
    return Status::Error("--web.telemetry-path must start with / and not be / or under /-/");
  }
  return flags;
}

std::string FlagsUsage() {
  return R"(usage: outcomes_exporter [flags]

Prometheus exporter and alerting sidecar for ML recommendation systems: exports exact business
counters from the outcomes store (PostgreSQL) and probes model-serving endpoints.

Flags:
  --config.file=PATH          YAML configuration file (default: outcomes_exporter.yml)
  --config.check              validate the configuration, print every problem, and exit
  --web.listen-address=ADDR   address to listen on, host:port or :port (default: :9477)
  --web.telemetry-path=PATH   path under which to expose metrics (default: /metrics)
  --web.config.file=PATH      TLS, mutual TLS and basic auth, in the exporter-toolkit
                              format (default: none)
  --log.level=LEVEL           debug, info, warn or error (default: info)
  --log.format=FORMAT         logfmt or json (default: logfmt)
  --version                   print the version and exit
  --help                      show this help and exit

Endpoints: /metrics, /-/healthy, /-/ready, POST /-/reload, / (landing page).
Signals: SIGHUP reloads the configuration; SIGTERM and SIGINT stop the exporter.
)";
}

}  // namespace outcomes
