#include "exporter/http/landing_page.h"

#include <cstdio>
#include <ctime>

#include "exporter/core/text.h"

namespace outcomes {
namespace {

std::string FormatTime(std::chrono::system_clock::time_point time) {
  if (time.time_since_epoch().count() == 0) return "never";
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S UTC", &utc);
  return buffer;
}

std::string FormatSeconds(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f s", seconds);
  return buffer;
}

}  // namespace

std::string RenderLandingPage(const BuildInfo& build, const std::string& telemetry_path,
                              const std::vector<CollectorState>& collectors,
                              const ReloadState& reload, const std::string& config_file) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>outcomes_exporter</title><style>"
      "body{font-family:sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
      "text-align:left}.ok{color:#176b2c}.fail{color:#b00020}"
      "</style></head><body>\n<h1>outcomes_exporter</h1>\n";
  html += "<p>Version " + HtmlEscape(build.version) + " (revision " + HtmlEscape(build.revision) +
          ")</p>\n";
  html += "<p>Configuration <code>" + HtmlEscape(config_file) + "</code>, last reload " +
          std::string(reload.last_successful ? "<span class=\"ok\">succeeded</span>"
                                             : "<span class=\"fail\">failed</span>") +
          ", last loaded " + FormatTime(reload.last_success_time) + ".</p>\n";
  html +=
      "<h2>Collectors</h2>\n<table><tr><th>collector</th><th>interval</th><th>last run</th>"
      "<th>duration</th><th>status</th><th>last success</th><th>last error</th></tr>\n";
  for (const CollectorState& state : collectors) {
    std::string status;
    if (state.running && !state.has_run) {
      status = "running";
    } else if (!state.has_run) {
      status = "pending";
    } else {
      status =
          state.success ? "<span class=\"ok\">ok</span>" : "<span class=\"fail\">failed</span>";
    }
    html += "<tr><td>" + HtmlEscape(state.name) + "</td><td>" +
            HtmlEscape(FormatDuration(state.interval)) + "</td><td>" +
            (state.has_run ? FormatTime(state.last_run) : std::string("never")) + "</td><td>" +
            (state.has_run ? FormatSeconds(state.last_duration_seconds) : std::string("")) +
            "</td><td>" + status + "</td><td>" + FormatTime(state.last_success) + "</td><td>" +
            HtmlEscape(state.last_error) + "</td></tr>\n";
  }
  if (collectors.empty()) html += "<tr><td colspan=\"7\">no collectors configured</td></tr>\n";
  html += "</table>\n<h2>Links</h2>\n<ul><li><a href=\"" + HtmlEscape(telemetry_path) +
          "\">Metrics</a></li><li><a href=\"/-/healthy\">Health</a></li>"
          "<li><a href=\"/-/ready\">Readiness</a></li></ul>\n"
          "<p>Reload the configuration with <code>POST /-/reload</code> or SIGHUP.</p>\n"
          "</body></html>\n";
  return html;
}

}  // namespace outcomes
