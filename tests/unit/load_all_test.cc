// --config.check, the start and the reload read the files with one loader (LoadAll), so the same
// bad files give the same error on all three. Regression: a reload used to report a collector
// that cannot be built without the config file's name, and a start an unusable TLS file
// without the web config file's name.
#include "exporter/load_all.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "exporter/app.h"

namespace outcomes {
namespace {

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class LoadAllTest : public testing::Test {
 protected:
  LoadAllTest() {
    Write(config_file_, "");
    Write(web_config_file_, "# plain HTTP\n");
  }
  ~LoadAllTest() override {
    std::remove(config_file_.c_str());
    std::remove(web_config_file_.c_str());
  }

  // The error of each path for the files as they are now: --config.check, the start, and a
  // reload of an App started on good files (which are then replaced by the current ones).
  struct Errors {
    std::string check;
    std::string start;
    std::string reload;
  };
  Errors ErrorsOfEachPath(const std::string& bad_config, const std::string& bad_web_config) {
    Errors errors;
    Write(config_file_, bad_config);
    Write(web_config_file_, bad_web_config);
    CollectorContext context{log_};
    errors.check = LoadAll({config_file_, web_config_file_}, ProcessEnv(), context).error();

    boost::asio::io_context io;
    App app({config_file_, "127.0.0.1:0", "/metrics", web_config_file_}, {"test", "abc"}, log_, io);
    errors.start = app.Load().error();

    Write(config_file_, "");
    Write(web_config_file_, "# plain HTTP\n");
    Result<LoadedFiles> good = app.Load();
    EXPECT_TRUE(good.ok()) << good.error();
    EXPECT_TRUE(app.Start(std::move(good).value()).ok());
    Write(config_file_, bad_config);
    Write(web_config_file_, bad_web_config);
    errors.reload = app.Reload().message();
    app.Stop(std::chrono::seconds(1));
    return errors;
  }

  // TempDir() ends with a slash. One name per test: ctest runs the tests of this file at once.
  const std::string dir_ = testing::TempDir() + "load_all_test_" +
                           testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                           std::to_string(::getpid());
  const std::string config_file_ = dir_ + ".yml";
  const std::string web_config_file_ = dir_ + "_web.yml";
  std::ostringstream log_output_;
  Logger log_{log_output_, LogLevel::kError, LogFormat::kLogfmt};
};

TEST_F(LoadAllTest, ACollectorThatCannotBeBuiltIsTheSameErrorOnCheckStartAndReload) {
  const std::string missing = dir_ + "_missing_ca.pem";
  const Errors errors = ErrorsOfEachPath(
      "endpoints:\n  - name: a\n    url: https://127.0.0.1:1/\n    tls: {ca_file: " + missing +
          "}\n",
      "# plain HTTP\n");
  EXPECT_EQ(errors.check,
            config_file_ + ": endpoint a: tls.ca_file \"" + missing + "\": cannot read");
  EXPECT_EQ(errors.start, errors.check);
  EXPECT_EQ(errors.reload, errors.check);
}

TEST_F(LoadAllTest, AnUnusableCertificateIsTheSameErrorOnCheckStartAndReload) {
  const std::string cert = dir_ + "_not_a.crt";
  Write(cert, "not a certificate\n");
  const Errors errors = ErrorsOfEachPath(
      "", "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + cert + "\n");
  EXPECT_TRUE(errors.check.starts_with(web_config_file_ + ": ")) << errors.check;
  EXPECT_EQ(errors.start, errors.check);
  EXPECT_EQ(errors.reload, errors.check);
}

TEST_F(LoadAllTest, ListsTheProblemsOfBothFilesInOneRun) {
  Write(config_file_, "store:\n  dsn: x\n  colour: red\n");
  Write(web_config_file_, "rate_limit: {burst: x}\n");
  CollectorContext context{log_};
  const Result<LoadedFiles> files =
      LoadAll({config_file_, web_config_file_}, ProcessEnv(), context);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.error(), config_file_ + ":3:3: store.colour: unknown key\n" + web_config_file_ +
                               ":1:21: rate_limit.burst: expected an integer");
}

TEST_F(LoadAllTest, ReturnsTheConfigTheWebConfigAndTheCollectors) {
  Write(config_file_, "registries:\n  - {name: r, url: \"http://127.0.0.1:1\", models: [m]}\n");
  Write(web_config_file_, "basic_auth_users: {}\n");
  CollectorContext context{log_};
  const Result<LoadedFiles> files =
      LoadAll({config_file_, web_config_file_}, ProcessEnv(), context);
  ASSERT_TRUE(files.ok()) << files.error();
  ASSERT_EQ(files.value().config.registries.size(), 1u);
  EXPECT_FALSE(files.value().web.tls());
  // The registry and the thresholds collector, which always runs.
  EXPECT_EQ(files.value().collectors.size(), 2u);
}

}  // namespace
}  // namespace outcomes
