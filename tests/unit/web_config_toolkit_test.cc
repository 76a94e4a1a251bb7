// The exporter-toolkit's own web config test cases (its web/testdata/*.yml, with what
// web/tls_config_test.go expects of each), written again here: every file the toolkit accepts is
// accepted and its TLS context built, every file it refuses is refused with an error that holds
// the words the toolkit's test looks for. What the accepted files then serve (handshakes, client
// certificates, passwords, 429s) is checked on a running exporter by web_security_test.sh.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/http/tls_context.h"
#include "exporter/http/web_config.h"

namespace outcomes {
namespace {

// One toolkit testdata file: its name, its YAML (nullopt: the file does not exist), and the
// words of the toolkit's expected error (empty: accepted).
struct ToolkitCase {
  std::string file;
  std::optional<std::string> yaml;
  std::string refused_with;
};

// The TLS section most of the toolkit's files start with.
const std::string kServerTls =
    "tls_server_config:\n  cert_file: \"server.crt\"\n  key_file: \"server.key\"\n";
const std::string kIfGiven = "  client_auth_type: \"VerifyClientCertIfGiven\"\n";

// The toolkit's bcrypt hashes (alice, bob, carol: carol123, dave: dave123).
const std::string kUsers =
    "basic_auth_users:\n"
    "  alice: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby\n"
    "  bob: $2y$14$y7HJ017Lo/wKPDdzdHahNevjaqE.WRk3iKVLLt1yKO7RtIrNbvy6.\n"
    "  carol: $2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu\n"
    "  dave: $2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq\n";

std::string ReadFile(const std::filesystem::path& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

// A PEM file as the lines of a YAML block scalar.
std::string Indented(const std::string& pem) {
  std::string out;
  std::istringstream lines(pem);
  for (std::string line; std::getline(lines, line);) out += "    " + line + "\n";
  return out;
}

class ToolkitTestdataTest : public testing::Test {
 protected:
  // The toolkit's certificate files under its names: an RSA server certificate for localhost
  // from tls-ca-chain.pem's CA, and two self-signed client certificates, the second with the
  // SANs of its client_allowed_sans files. Made once per process (ctest runs one per test).
  static void SetUpTestSuite() {
    folder_ = std::filesystem::path(testing::TempDir()) /
              ("toolkit_testdata_" + std::to_string(getpid()));
    std::filesystem::create_directories(folder_);
    const std::string script =
        "cd '" + folder_.string() +
        "' && key='-newkey rsa:2048 -nodes' && "
        "openssl req -x509 $key -keyout ca.key -out tls-ca-chain.pem -days 2 -subj /CN=test-ca && "
        "echo 'subjectAltName=DNS:localhost,IP:127.0.0.1' >server.ext && "
        "openssl req $key -keyout server.key -out server.csr -subj /CN=localhost && "
        "openssl x509 -req -in server.csr -CA tls-ca-chain.pem -CAkey ca.key -CAcreateserial "
        "-out server.crt -days 2 -extfile server.ext && "
        "openssl req -x509 $key -keyout client_selfsigned.key -out client_selfsigned.pem "
        "-days 2 -subj /CN=test && "
        "openssl req -x509 $key -keyout client2_selfsigned.key -out client2_selfsigned.pem "
        "-days 2 -subj /CN=test2 -addext subjectAltName=DNS:test3,DNS:test4";
    // Once, before any test of the suite runs: no other thread calls the environment.
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    ASSERT_EQ(std::system(("(" + script + ") >/dev/null 2>&1").c_str()), 0) << "openssl failed";
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(folder_); }

  // The accepted files: the server's TLS settings, then everything else.
  static std::vector<ToolkitCase> AcceptedFiles() {
    std::vector<ToolkitCase> files = AcceptedTlsFiles();
    for (ToolkitCase& file : AcceptedAuthHeaderAndLimitFiles()) files.push_back(std::move(file));
    return files;
  }

  // Certificates inline or by file, cipher suites, curves, versions, HTTP/2.
  static std::vector<ToolkitCase> AcceptedTlsFiles() {
    const std::string inline_tls = "tls_server_config:\n  cert: |\n" +
                                   Indented(ReadFile(folder_ / "server.crt")) + "  key: |\n" +
                                   Indented(ReadFile(folder_ / "server.key")) + kIfGiven;
    return {
        {"web_config_empty.yml", "", ""},
        {"web_config_noAuth.good.yml", kServerTls + kIfGiven, ""},
        {"web_config_noAuth.good.blocking.yml",
         kServerTls + "  client_auth_type: \"RequireAndVerifyClientCert\"\n", ""},
        {"web_config_noAuth_tlsInline.good.yml", inline_tls, ""},
        {"web_config_noAuth_allCiphers.good.yml",
         kServerTls + kIfGiven +
             "  cipher_suites:\n"
             "  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"
             "  - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
             "  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
             "  - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
             "  - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n"
             "  - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256\n"
             "  - TLS_AES_128_GCM_SHA256\n"
             "  - TLS_AES_256_GCM_SHA384\n"
             "  - TLS_CHACHA20_POLY1305_SHA256\n"
             "  - TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA\n"
             "  - TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA\n"
             "  - TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\n"
             "  - TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA\n"
             "  - TLS_RSA_WITH_AES_128_CBC_SHA\n"
             "  - TLS_RSA_WITH_AES_256_CBC_SHA\n"
             "  - TLS_RSA_WITH_AES_128_GCM_SHA256\n"
             "  - TLS_RSA_WITH_AES_256_GCM_SHA384\n",
         ""},
        {"web_config_noAuth_someCiphers.good.yml",
         kServerTls + kIfGiven +
             "  cipher_suites:\n  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
             "  - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n  min_version: TLS12\n"
             "  max_version: TLS12\n",
         ""},
        // Spaces before the colons, as the toolkit's file has them.
        {"web_config_noAuth_someCiphers_noOrder.good.yml",
         "tls_server_config :\n  cert_file : \"server.crt\"\n  key_file : \"server.key\"\n"
         "  client_auth_type : \"VerifyClientCertIfGiven\"\n"
         "  cipher_suites:\n  - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
         "  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n  prefer_server_cipher_suites: false\n"
         "  min_version: TLS12\n  max_version: TLS12\n",
         ""},
        // X25519MLKEM768 is Go 1.24's; OpenSSL before 3.5 lacks it and uses the others.
        {"web_config_noAuth_allCurves.good.yml",
         kServerTls + kIfGiven +
             "  curve_preferences:\n    - CurveP256\n    - CurveP384\n    - CurveP521\n"
             "    - X25519\n    - X25519MLKEM768\n",
         ""},
        {"web_config_noAuth_someCurves.good.yml",
         kServerTls + kIfGiven + "  min_version: TLS13\n  curve_preferences:\n  - CurveP521\n", ""},
        {"web_config_noAuth_noHTTP2.good.yml",
         kServerTls + kIfGiven +
             "  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
             "  max_version: TLS12\nhttp_server_config:\n  http2: false\n",
         ""},
    };
  }

  // Client certificates and their SANs, headers, rate limits, users.
  static std::vector<ToolkitCase> AcceptedAuthHeaderAndLimitFiles() {
    return {
        {"web_config_headers.good.yml",
         "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
         "    Strict-Transport-Security: max-age=31536000; includeSubDomains\n"
         "    X-Content-Type-Options: nosniff\n    X-XSS-Protection: 1\n"
         "    Content-Security-Policy: \"default-src 'self' *.test.example.net\"\n",
         ""},
        {"tls_config_noAuth.requireanyclientcert.good.yml",
         kServerTls + "  client_auth_type: \"RequireAnyClientCert\"\n"
                      "  client_ca_file: \"tls-ca-chain.pem\"\n",
         ""},
        {"tls_config_noAuth.requireandverifyclientcert.good.yml",
         kServerTls + "  client_auth_type: \"RequireAndVerifyClientCert\"\n"
                      "  client_ca_file: \"client_selfsigned.pem\"\n",
         ""},
        // Accepted both; the second refuses client2's certificate at the handshake.
        {"web_config_auth_client_san.good.yaml",
         kServerTls + "  client_auth_type: \"RequireAndVerifyClientCert\"\n"
                      "  client_ca_file: \"client2_selfsigned.pem\"\n"
                      "  client_allowed_sans:\n    - \"one\"\n    - \"test3\"\n    - \"two\"\n",
         ""},
        {"web_config_auth_client_san.bad.yaml",
         kServerTls + "  client_auth_type: \"RequireAndVerifyClientCert\"\n"
                      "  client_ca_file: \"client2_selfsigned.pem\"\n  client_allowed_sans:\n    - "
                      "\"bad\"\n",
         ""},
        {"web_config_rate_limiter_nonblocking.yaml", "rate_limit:\n  interval: 0\n  burst: 0\n",
         ""},
        // Accepted, and every request gets 429 (burst 0).
        {"web_config_rate_limiter_one_second.yaml", "rate_limit:\n  interval: \"1s\"\n  burst: 0\n",
         ""},
        {"web_config_users.good.yml", kServerTls + kUsers, ""},
        {"web_config_users_noTLS.good.yml", kUsers, ""},
    };
  }

  static std::vector<ToolkitCase> RefusedFiles() {
    return {
        {"somefile", std::nullopt, "no such file"},
        {"web_config_junk.yml", "- junk\n- [more junk\n", "yaml"},
        {"web_config_junk_key.yml", "tls_server_config:\n  cert_filse: \"server.crt\"\n", "yaml"},
        {"web_config_noAuth_certPath_empty.bad.yml",
         "tls_server_config:\n  cert_file: \"\"\n  key_file: \"server.key\"\n",
         "missing one of cert or cert_file"},
        {"web_config_noAuth_cert_empty.bad.yml",
         "tls_server_config:\n  cert: \"\"\n  key_file: \"server.key\"\n",
         "missing one of cert or cert_file"},
        {"web_config_noAuth_keyPath_empty.bad.yml",
         "tls_server_config:\n  cert_file: \"server.crt\"\n  key_file: \"\"\n",
         "missing one of key or key_file"},
        {"web_config_noAuth_key_empty.bad.yml",
         "tls_server_config:\n  cert_file: \"server.crt\"\n  key: \"\"\n",
         "missing one of key or key_file"},
        {"web_config_noAuth_certPath_keyPath_empty.bad.yml",
         "tls_server_config:\n  cert_file: \"\"\n  key_file: \"\"\n  client_auth_type: \"x\"\n",
         "missing one of cert or cert_file"},
        {"web_config_noAuth_certPath_invalid.bad.yml",
         "tls_server_config:\n  cert_file: \"somefile\"\n  key_file: \"server.key\"\n",
         "no such file"},
        {"web_config_noAuth_keyPath_invalid.bad.yml",
         "tls_server_config:\n  cert_file: \"server.crt\"\n  key_file: \"somefile\"\n",
         "no such file"},
        {"web_config_noAuth_certPath_keyPath_invalid.bad.yml",
         "tls_server_config:\n  cert_file: \"somefile\"\n  key_file: \"somefile\"\n",
         "no such file"},
        {"web_config_noAuth.bad.yml", kServerTls + "  client_ca_file: \"/dev/null\"\n",
         "client CA's have been configured without a Client Auth Policy"},
        {"web_config_auth_clientCAs_invalid.bad.yml",
         kServerTls + "  client_ca_file: \"somefile\"\n", "no such file"},
        {"web_config_auth_user_list_invalid.bad.yml",
         kServerTls + "basic_auth_users:\n  john: doe\n",
         "hashedSecret too short to be a bcrypted password"},
        {"web_config_noAuth_inventedCiphers.bad.yml",
         kServerTls + kIfGiven + "  cipher_suites:\n  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048\n",
         "unknown cipher"},
        {"web_config_noAuth_inventedCurves.bad.yml",
         kServerTls + kIfGiven + "  curve_preferences:\n    - CurveP257\n", "unknown curve"},
        {"web_config_noAuth_wrongTLSVersion.bad.yml",
         kServerTls + kIfGiven + "  min_version: TLS111\n", "unknown TLS version"},
        {"web_config_noAuth_noHTTP2Cipher.bad.yml",
         kServerTls + kIfGiven +
             "  cipher_suites:\n    - TLS_RSA_WITH_AES_128_CBC_SHA\n  max_version: TLS12\n",
         "TLSConfig.CipherSuites is missing an HTTP/2-required"},
        {"web_config_headers_content_type_options.bad.yml",
         "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
         "invalid value for"},
        {"web_config_headers_frame_options.bad.yml",
         "http_server_config:\n  headers:\n    X-Frame-Options: foo\n", "invalid value for"},
        {"web_config_headers_extra_header.bad.yml",
         "http_server_config:\n  headers:\n    Content-Type: foo\n",
         "HTTP header \"Content-Type\" can not be configured"},
    };
  }

  // What the exporter makes of the file, as a start or --config.check does: the web config is
  // read, then its TLS context built. Empty: accepted.
  static std::string Outcome(const ToolkitCase& test) {
    const std::filesystem::path path = folder_ / test.file;
    if (test.yaml) std::ofstream(path) << *test.yaml;
    const Result<WebConfig> web = LoadWebConfigFile(path.string());
    if (!web.ok()) return web.error();
    if (!web.value().tls()) return "";
    const auto context = MakeTlsContext(web.value());
    return context.ok() ? "" : context.error();
  }

  // Set once by SetUpTestSuite, read by the tests after it.
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
  static std::filesystem::path folder_;
};

// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
std::filesystem::path ToolkitTestdataTest::folder_;

TEST_F(ToolkitTestdataTest, AcceptsEveryFileTheToolkitAccepts) {
  for (const ToolkitCase& test : AcceptedFiles()) {
    EXPECT_EQ(Outcome(test), "") << test.file;
  }
}

TEST_F(ToolkitTestdataTest, RefusesEveryFileTheToolkitRefusesWithItsWords) {
  for (const ToolkitCase& test : RefusedFiles()) {
    const std::string error = Outcome(test);
    EXPECT_NE(error, "") << test.file << " was accepted";
    EXPECT_NE(error.find(test.refused_with), std::string::npos)
        << test.file << ": want \"" << test.refused_with << "\" in: " << error;
  }
}

}  // namespace
}  // namespace outcomes
