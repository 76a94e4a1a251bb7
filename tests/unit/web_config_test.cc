#include "exporter/http/web_config.h"

#include <gtest/gtest.h>

#include <fstream>

namespace outcomes {
namespace {

// The web config file, written to a temporary file; the TLS paths point at files that exist.
Result<WebConfig> LoadWeb(const std::string& yaml) {
  const std::string path = testing::TempDir() + "web_config_test.yml";
  std::ofstream(path) << yaml;
  return LoadWebConfigFile(path);
}

const std::string kExistingFile = std::string(OUTCOMES_SOURCE_DIR) + "/README.md";

TEST(WebConfigTest, ReadsEveryTlsSettingAndDefaults) {
  const auto web = LoadWeb("tls_server_config:\n  cert_file: " + kExistingFile +
                           "\n  key_file: " + kExistingFile + "\n");
  ASSERT_TRUE(web.ok()) << web.error();
  EXPECT_TRUE(web.value().tls());
  EXPECT_EQ(web.value().client_auth_type, "NoClientCert");
  EXPECT_EQ(web.value().min_version, "TLS12");
  EXPECT_EQ(web.value().max_version, "TLS13");

  const auto mutual =
      LoadWeb("tls_server_config:\n  cert_file: " + kExistingFile +
              "\n  key_file: " + kExistingFile + "\n  client_ca_file: " + kExistingFile +
              "\n  client_auth_type: VerifyClientCertIfGiven\n"
              "  min_version: TLS13\n  max_version: TLS13\n");
  ASSERT_TRUE(mutual.ok()) << mutual.error();
  EXPECT_EQ(mutual.value().client_auth_type, "VerifyClientCertIfGiven");
  EXPECT_EQ(mutual.value().min_version, "TLS13");
}

TEST(WebConfigTest, AnEmptyFileMeansPlainHttpWithoutAuth) {
  const auto web = LoadWeb("");
  ASSERT_TRUE(web.ok()) << web.error();
  EXPECT_FALSE(web.value().tls());
  EXPECT_TRUE(web.value().basic_auth_users.empty());
}

TEST(WebConfigTest, ListsEveryTlsProblemWithItsPlace) {
  const auto web = LoadWeb("tls_server_config:\n  cert_file: " + kExistingFile +
                           "\n  key_file: " + kExistingFile +
                           "\n  client_auth_type: RequireAndVerify\n"
                           "  min_version: TLS13\n  max_version: TLS12\n  cipher_suites: []\n");
  ASSERT_FALSE(web.ok());
  const std::string& error = web.error();
  EXPECT_NE(error.find(":4:21: tls_server_config.client_auth_type: want NoClientCert"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find(":6:16: tls_server_config.max_version: TLS12 is below min_version TLS13"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find(":7:3: tls_server_config.cipher_suites: unknown key"), std::string::npos)
      << error;
}

TEST(WebConfigTest, RefusesABcryptCostOutsideFourToThirtyOne) {
  const std::string tail = "$drAsDfKCDO.BE9Q.irktV.8KVHptK.T1tV656EEEaAlp.mzVVuQXi";
  EXPECT_TRUE(LoadWeb("basic_auth_users:\n  u: '$2b$04" + tail + "'\n").ok());
  EXPECT_TRUE(LoadWeb("basic_auth_users:\n  u: '$2b$31" + tail + "'\n").ok());
  EXPECT_FALSE(LoadWeb("basic_auth_users:\n  u: '$2b$32" + tail + "'\n").ok());
  EXPECT_FALSE(LoadWeb("basic_auth_users:\n  u: '$2b$03" + tail + "'\n").ok());
}

TEST(WebConfigTest, VerifyingClientCertificatesNeedsTheirCa) {
  for (const std::string type : {"VerifyClientCertIfGiven", "RequireAndVerifyClientCert"}) {
    const auto web =
        LoadWeb("tls_server_config:\n  cert_file: " + kExistingFile +
                "\n  key_file: " + kExistingFile + "\n  client_auth_type: " + type + "\n");
    ASSERT_FALSE(web.ok()) << type;
    EXPECT_NE(web.error().find("client_ca_file: required to verify client certificates"),
              std::string::npos)
        << web.error();
  }
  // Asking for any certificate, unverified, needs no CA.
  const auto any = LoadWeb("tls_server_config:\n  cert_file: " + kExistingFile + "\n  key_file: " +
                           kExistingFile + "\n  client_auth_type: RequireAnyClientCert\n");
  EXPECT_TRUE(any.ok()) << any.error();
}

}  // namespace
}  // namespace outcomes
