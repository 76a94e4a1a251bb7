#include "exporter/http/web_config.h"

#include <gtest/gtest.h>

#include <fstream>

namespace outcomes {
namespace {

// The web config file, written to a temporary file named after the test (ctest runs tests in
// parallel); the TLS paths point at files that exist.
Result<WebConfig> LoadWeb(const std::string& yaml) {
  const std::string path = testing::TempDir() + "web_config_" +
                           testing::UnitTest::GetInstance()->current_test_info()->name() + ".yml";
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
                           "  min_version: TLS13\n  max_version: TLS12\n  ciphers: []\n");
  ASSERT_FALSE(web.ok());
  const std::string& error = web.error();
  EXPECT_NE(
      error.find(":4:21: tls_server_config.client_auth_type: invalid ClientAuth: RequireAndVerify"),
      std::string::npos)
      << error;
  EXPECT_NE(error.find(":6:16: tls_server_config.max_version: TLS12 is below min_version TLS13"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find(":7:3: tls_server_config.ciphers: unknown key (yaml: field not found)"),
            std::string::npos)
      << error;
}

TEST(WebConfigTest, RefusesABcryptCostOutsideFourToThirtyOne) {
  const std::string tail = "$drAsDfKCDO.BE9Q.irktV.8KVHptK.T1tV656EEEaAlp.mzVVuQXi";
  EXPECT_TRUE(LoadWeb("basic_auth_users:\n  u: '$2b$04" + tail + "'\n").ok());
  EXPECT_TRUE(LoadWeb("basic_auth_users:\n  u: '$2b$31" + tail + "'\n").ok());
  EXPECT_FALSE(LoadWeb("basic_auth_users:\n  u: '$2b$32" + tail + "'\n").ok());
  EXPECT_FALSE(LoadWeb("basic_auth_users:\n  u: '$2b$03" + tail + "'\n").ok());
}

// As in Go, which then verifies against the system's roots (tls_context.cc does the same).
TEST(WebConfigTest, VerifyingClientCertificatesWithoutAClientCaIsAccepted) {
  for (const std::string type : {"VerifyClientCertIfGiven", "RequireAndVerifyClientCert"}) {
    const auto web =
        LoadWeb("tls_server_config:\n  cert_file: " + kExistingFile +
                "\n  key_file: " + kExistingFile + "\n  client_auth_type: " + type + "\n");
    EXPECT_TRUE(web.ok()) << type << ": " << web.error();
  }
  // Asking for any certificate, unverified, needs no CA.
  const auto any = LoadWeb("tls_server_config:\n  cert_file: " + kExistingFile + "\n  key_file: " +
                           kExistingFile + "\n  client_auth_type: RequireAnyClientCert\n");
  EXPECT_TRUE(any.ok()) << any.error();
}

// The TLS section with the existing certificate and key, plus `settings` (indented lines).
std::string TlsWith(const std::string& settings) {
  return "tls_server_config:\n  cert_file: " + kExistingFile + "\n  key_file: " + kExistingFile +
         "\n" + settings;
}

// The error of a web config that must be refused.
std::string Refusal(const std::string& yaml) {
  const auto web = LoadWeb(yaml);
  return web.ok() ? "(accepted)" : web.error();
}

TEST(WebConfigTest, DefaultsAreTheExporterToolkits) {
  const auto web = LoadWeb("");
  ASSERT_TRUE(web.ok()) << web.error();
  EXPECT_TRUE(web.value().http2);
  EXPECT_TRUE(web.value().prefer_server_cipher_suites);
  EXPECT_TRUE(web.value().cipher_suites.empty());      // Go's default list
  EXPECT_TRUE(web.value().curve_preferences.empty());  // Go's default curves
  EXPECT_FALSE(web.value().client_allowed_sans.has_value());
  EXPECT_TRUE(web.value().headers.empty());
  EXPECT_FALSE(web.value().rate_limit.enabled());
  EXPECT_EQ(web.value().client_auth_type, "NoClientCert");
  EXPECT_EQ(web.value().min_version, "TLS12");
  EXPECT_EQ(web.value().max_version, "TLS13");
}

TEST(WebConfigTest, ReadsEveryKeyOfTheFormat) {
  const auto web = LoadWeb(TlsWith(
      "  client_ca: |\n    -----BEGIN CERTIFICATE-----\n    AAAA\n    -----END CERTIFICATE-----\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_allowed_sans: [scraper.example, 10.0.0.7]\n"
      "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n"
      "  prefer_server_cipher_suites: false\n"
      "  curve_preferences: [CurveP384, X25519]\n"
      "  min_version: TLS12\n  max_version: TLS13\n"
      "http_server_config:\n  http2: false\n  headers:\n"
      "    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n"
      "rate_limit:\n  interval: 1m30s\n  burst: 5\n"));
  ASSERT_TRUE(web.ok()) << web.error();
  const WebConfig& config = web.value();
  EXPECT_EQ(config.client_ca, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(config.client_allowed_sans, (std::vector<std::string>{"scraper.example", "10.0.0.7"}));
  EXPECT_EQ(config.cipher_suites, (std::vector<std::string>{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                                            "TLS_AES_128_GCM_SHA256"}));
  EXPECT_FALSE(config.prefer_server_cipher_suites);
  EXPECT_EQ(config.curve_preferences, (std::vector<std::string>{"CurveP384", "X25519"}));
  EXPECT_FALSE(config.http2);
  EXPECT_EQ(config.headers,
            (std::vector<std::pair<std::string, std::string>>{
                {"X-Frame-Options", "deny"}, {"Strict-Transport-Security", "max-age=31536000"}}));
  EXPECT_EQ(config.rate_limit.interval, std::chrono::seconds(90));
  EXPECT_EQ(config.rate_limit.burst, 5);
}

TEST(WebConfigTest, InlineCertificateAndKeyTurnTlsOn) {
  const auto web = LoadWeb("tls_server_config:\n  cert: PEM\n  key: PEM\n");
  ASSERT_TRUE(web.ok()) << web.error();
  EXPECT_TRUE(web.value().tls());
  EXPECT_EQ(web.value().cert, "PEM");
}

// Regression: `cert_file: ""` with a key_file was accepted and the sidecar served plain HTTP.
TEST(WebConfigTest, AnEmptyCertFileWithAKeyIsRefusedNotServedInTheClear) {
  EXPECT_NE(Refusal("tls_server_config:\n  cert_file: \"\"\n  key_file: " + kExistingFile + "\n")
                .find(":2:3: tls_server_config: missing one of cert or cert_file"),
            std::string::npos);
}

TEST(WebConfigTest, AnyHalfOfATlsSectionIsRefused) {
  const std::string file = kExistingFile;
  for (const auto& [yaml, missing] : std::vector<std::pair<std::string, std::string>>{
           {"  cert_file: " + file + "\n", "missing one of key or key_file"},
           {"  key: PEM\n", "missing one of cert or cert_file"},
           {"  client_ca_file: " + file + "\n  client_auth_type: RequireAndVerifyClientCert\n",
            "missing one of cert or cert_file"},
           {"  client_auth_type: NoClientCert\n", "missing one of cert or cert_file"},
       }) {
    EXPECT_NE(Refusal("tls_server_config:\n" + yaml).find(missing), std::string::npos) << yaml;
  }
}

// As in the exporter-toolkit: settings without a certificate, key, CA or client policy leave
// the server on plain HTTP.
TEST(WebConfigTest, ASectionWithOnlyVersionsIsPlainHttp) {
  const auto web = LoadWeb("tls_server_config:\n  min_version: TLS13\n");
  ASSERT_TRUE(web.ok()) << web.error();
  EXPECT_FALSE(web.value().tls());
}

TEST(WebConfigTest, AnEmptyClientAuthTypeIsNoValueAsInGo) {
  const auto web = LoadWeb("tls_server_config:\n  client_auth_type: \"\"\n");
  ASSERT_TRUE(web.ok()) << web.error();
  EXPECT_FALSE(web.value().tls());
}

// As in the exporter-toolkit, which reads the file and ignores the inline text.
TEST(WebConfigTest, TheFileWinsOverTheInlineFormOfOneInput) {
  const auto web = LoadWeb(
      TlsWith("  cert: PEM\n  key: PEM\n  client_ca: PEM\n  client_ca_file: " + kExistingFile +
              "\n  client_auth_type: RequireAndVerifyClientCert\n"));
  ASSERT_TRUE(web.ok()) << web.error();
  EXPECT_EQ(web.value().cert_file, kExistingFile);
  EXPECT_EQ(web.value().cert, "");
  EXPECT_EQ(web.value().key, "");
  EXPECT_EQ(web.value().client_ca, "");
}

TEST(WebConfigTest, CipherSuitesAreGoNames) {
  EXPECT_TRUE(LoadWeb(TlsWith("  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "
                              "TLS_RSA_WITH_AES_128_GCM_SHA256]\n"))
                  .ok());
  // OpenSSL's own names and the suites Go calls insecure are not Go names.
  for (const std::string name : {"ECDHE-RSA-AES128-GCM-SHA256", "TLS_RSA_WITH_RC4_128_SHA",
                                 "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"}) {
    EXPECT_NE(Refusal(TlsWith("  cipher_suites: [" + name + "]\n"))
                  .find("tls_server_config.cipher_suites: unknown cipher: " + name),
              std::string::npos)
        << name;
  }
}

// As in Go: TLS 1.2 is then left without a suite (web_security_test.sh checks the handshakes).
// (With http2 true, Go's HTTP/2 server refuses the list; see the next test.)
TEST(WebConfigTest, OnlyTls13CipherSuitesAreAccepted) {
  const auto web =
      LoadWeb(TlsWith("  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"
                      "http_server_config:\n  http2: false\n"));
  EXPECT_TRUE(web.ok()) << web.error();
}

// As Go's HTTP/2 server, which the exporter-toolkit starts unless http2 is false.
TEST(WebConfigTest, Http2NeedsAnAes128GcmSuiteInACipherList) {
  EXPECT_NE(Refusal(TlsWith("  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n"))
                .find("TLSConfig.CipherSuites is missing an HTTP/2-required"),
            std::string::npos);
  EXPECT_TRUE(LoadWeb(TlsWith("  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n"
                              "http_server_config:\n  http2: false\n"))
                  .ok());
  EXPECT_TRUE(
      LoadWeb(TlsWith("  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n")).ok());
}

TEST(WebConfigTest, CurvesAreGoNames) {
  EXPECT_TRUE(LoadWeb(TlsWith("  curve_preferences: [X25519, CurveP256, CurveP384, CurveP521, "
                              "X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024]\n"))
                  .ok());
  EXPECT_NE(Refusal(TlsWith("  curve_preferences: [P-256]\n"))
                .find("tls_server_config.curve_preferences: unknown curve: P-256"),
            std::string::npos);
}

TEST(WebConfigTest, Tls10AndTls11AreAccepted) {
  const auto web = LoadWeb(TlsWith("  min_version: TLS10\n  max_version: TLS11\n"));
  ASSERT_TRUE(web.ok()) << web.error();
  EXPECT_EQ(web.value().min_version, "TLS10");
  EXPECT_EQ(web.value().max_version, "TLS11");
  EXPECT_NE(Refusal(TlsWith("  min_version: SSL30\n"))
                .find("tls_server_config.min_version: unknown TLS version: SSL30"),
            std::string::npos);
}

TEST(WebConfigTest, ClientAllowedSansNeedARequiredClientCertificate) {
  const std::string ca = "  client_ca_file: " + kExistingFile + "\n";
  for (const std::string type : {"NoClientCert", "RequestClientCert", "VerifyClientCertIfGiven"}) {
    const std::string with_ca = type == "VerifyClientCertIfGiven" ? ca : "";
    EXPECT_NE(
        Refusal(TlsWith(with_ca + "  client_auth_type: " + type + "\n  client_allowed_sans: [a]\n"))
            .find("client_allowed_sans: requires client_auth_type to be one of "
                  "RequireAnyClientCert or RequireAndVerifyClientCert"),
        std::string::npos)
        << type;
  }
  EXPECT_TRUE(
      LoadWeb(TlsWith("  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [a]\n"))
          .ok());
  // An empty list refuses every client, as in the exporter-toolkit.
  const auto none =
      LoadWeb(TlsWith("  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: []\n"));
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_EQ(none.value().client_allowed_sans, std::vector<std::string>{});
}

TEST(WebConfigTest, OnlyTheToolkitsHeadersWithTheirValues) {
  EXPECT_TRUE(LoadWeb("http_server_config:\n  headers:\n    Content-Security-Policy: \"default-src "
                      "'self'\"\n    X-XSS-Protection: \"1; mode=block\"\n"
                      "    X-Content-Type-Options: nosniff\n    X-Frame-Options: sameorigin\n")
                  .ok());
  EXPECT_NE(Refusal("http_server_config:\n  headers:\n    Server: x\n")
                .find(":3:5: http_server_config.headers.Server: HTTP header \"Server\" can not be "
                      "configured"),
            std::string::npos);
  EXPECT_NE(Refusal("http_server_config:\n  headers:\n    X-Frame-Options: DENY\n")
                .find("invalid value for X-Frame-Options. Expected one of: [\"deny\" "
                      "\"sameorigin\"], but got: \"DENY\""),
            std::string::npos);
  // Names compare exactly, as in the exporter-toolkit.
  EXPECT_NE(Refusal("http_server_config:\n  headers:\n    x-frame-options: deny\n")
                .find("can not be configured"),
            std::string::npos);
}

TEST(WebConfigTest, Http2IsABooleanAsGoReadsIt) {
  const auto web = LoadWeb("http_server_config:\n  http2: no\n");
  ASSERT_TRUE(web.ok()) << web.error();
  EXPECT_FALSE(web.value().http2);
  EXPECT_NE(Refusal("http_server_config:\n  http2: maybe\n")
                .find("http_server_config.http2: expected true or false"),
            std::string::npos);
}

TEST(WebConfigTest, RateLimitIntervalIsAGoDuration) {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::chrono::nanoseconds>>{
           {"1s", std::chrono::seconds(1)},
           {"250ms", std::chrono::milliseconds(250)},
           {"1.5s", std::chrono::milliseconds(1500)},
           {"2h45m", std::chrono::minutes(165)},
           {"0", std::chrono::nanoseconds(0)},
           {"100", std::chrono::nanoseconds(100)},  // an integer is nanoseconds, as in Go
       }) {
    const auto web = LoadWeb("rate_limit:\n  interval: " + text + "\n  burst: 1\n");
    ASSERT_TRUE(web.ok()) << text << ": " << web.error();
    EXPECT_EQ(web.value().rate_limit.interval, expected) << text;
  }
  EXPECT_NE(Refusal("rate_limit:\n  interval: 1d\n  burst: 1\n")
                .find(":2:13: rate_limit.interval: expected a duration such as 1s"),
            std::string::npos);
}

// As golang.org/x/time/rate: a burst below 1 refuses every request (rate_limiter_test.cc), an
// interval of 0 or less is no limit.
TEST(WebConfigTest, ARateLimitWithoutBurstIsAcceptedAndANegativeIntervalIsNoLimit) {
  const auto no_burst = LoadWeb("rate_limit:\n  interval: 1s\n");
  ASSERT_TRUE(no_burst.ok()) << no_burst.error();
  EXPECT_TRUE(no_burst.value().rate_limit.enabled());
  EXPECT_EQ(no_burst.value().rate_limit.burst, 0);
  for (const std::string interval : {"0s", "-1s"}) {
    const auto off = LoadWeb("rate_limit:\n  interval: " + interval + "\n  burst: 0\n");
    ASSERT_TRUE(off.ok()) << off.error();
    EXPECT_FALSE(off.value().rate_limit.enabled()) << interval;
  }
  EXPECT_NE(Refusal("rate_limit:\n  every: 1s\n").find("rate_limit.every: unknown key"),
            std::string::npos);
}

}  // namespace
}  // namespace outcomes
