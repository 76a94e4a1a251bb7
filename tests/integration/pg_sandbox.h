// A throwaway PostgreSQL for integration tests, driven through scripts/pg-sandbox so that the
// tests, the demo and developers start it the same way. One per test binary.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

namespace outcomes::testing_support {

class PgSandbox {
 public:
  PgSandbox() {
    char pattern[] = "/tmp/outcomes-it-XXXXXX";
    const char* dir = mkdtemp(pattern);
    if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    Run("start");
    std::ifstream file(dir_ + "/dsn");
    std::getline(file, dsn_);
    ApplySchema();
  }
  ~PgSandbox() {
    Run("stop", /*check=*/false);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    std::filesystem::remove(dir_ + ".log", ignored);
  }
  PgSandbox(const PgSandbox&) = delete;
  PgSandbox& operator=(const PgSandbox&) = delete;

  const std::string& dsn() const { return dsn_; }
  void Stop() { Run("stop"); }
  // Restarts on the same port, so that clients holding the DSN reconnect.
  void Start() {
    const std::size_t colon = dsn_.rfind(':');
    const std::size_t slash = dsn_.find('/', colon);
    Run("start", /*check=*/true, " " + dsn_.substr(colon + 1, slash - colon - 1));
  }

  // Empties every table and restarts the id sequences.
  void Reset() {
    pqxx::connection connection(dsn_);
    pqxx::work txn(connection);
    txn.exec("TRUNCATE feedback, outcome_events, recommendations, ab_tests RESTART IDENTITY");
    txn.commit();
  }

 private:
  void Run(const std::string& command, bool check = true, const std::string& extra = "") {
    const std::string line = std::string(OUTCOMES_SOURCE_DIR) + "/scripts/pg-sandbox " + command +
                             " " + dir_ + extra + " > " + dir_ + ".log 2>&1";
    const int status = std::system(line.c_str());  // NOLINT(cert-env33-c): test harness
    if (check && status != 0) {
      std::ifstream log(dir_ + ".log");
      const std::string text((std::istreambuf_iterator<char>(log)),
                             std::istreambuf_iterator<char>());
      throw std::runtime_error("pg-sandbox " + command + " failed: " + text);
    }
  }
  void ApplySchema() {
    std::ifstream file(std::string(OUTCOMES_SOURCE_DIR) + "/deploy/sql/schema.sql");
    const std::string sql((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    pqxx::connection connection(dsn_);
    pqxx::nontransaction txn(connection);
    txn.exec(sql);
  }

  std::string dir_;
  std::string dsn_;
};

// SQL for the instant `ago` (an interval literal) before now(), in microseconds since the epoch:
// how the drift collector passes its windows' edges.
inline std::string MicrosAgo(const std::string& ago) {
  return "(extract(epoch FROM now() - interval '" + ago + "') * 1000000)::bigint";
}

}  // namespace outcomes::testing_support
