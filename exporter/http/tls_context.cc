#include "exporter/http/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace outcomes {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using ErrorCode = boost::system::error_code;

struct CipherName {
  std::string_view go;
  std::string_view openssl;  // empty: a TLS 1.3 suite
};

// Go's tls.CipherSuites(), plus the RSA key exchange suites that Go 1.22 and older list there.
// In Go's default order, which is also the default here when cipher_suites is not given.
constexpr std::array<CipherName, 17> kCipherNames = {{
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
}};
// Go's default TLS 1.2 list (Go 1.22 and later): the first ten, ECDHE only.
constexpr std::size_t kGoDefaultCiphers = 10;

// Go's curves; the default is the first four. The hybrid post-quantum ones (Go 1.24 and 1.26)
// are used where this OpenSSL has them (3.5 and later) and skipped where it has not.
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kGroupNames = {{
    {"X25519", "X25519"},
    {"CurveP256", "P-256"},
    {"CurveP384", "P-384"},
    {"CurveP521", "P-521"},
    {"X25519MLKEM768", "X25519MLKEM768"},
    {"SecP256r1MLKEM768", "SecP256r1MLKEM768"},
    {"SecP384r1MLKEM1024", "SecP384r1MLKEM1024"},
}};
constexpr std::size_t kGoDefaultGroups = 4;

int ProtocolVersion(const std::string& name) {
  if (name == "TLS10") return TLS1_VERSION;
  if (name == "TLS11") return TLS1_1_VERSION;
  return name == "TLS13" ? TLS1_3_VERSION : TLS1_2_VERSION;
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ":") + name;
  return out;
}

std::string OpenSslCipherList(const std::vector<std::string>& go_names) {
  std::vector<std::string> names;
  if (go_names.empty()) {
    for (std::size_t i = 0; i < kGoDefaultCiphers; ++i) names.emplace_back(kCipherNames[i].openssl);
  }
  for (const std::string& go_name : go_names) {
    const std::optional<std::string> name = OpenSslCipherName(go_name);
    if (name && !name->empty()) names.push_back(*name);
  }
  return Joined(names);
}

// The groups of `go_names` (Go's default when empty) that this OpenSSL knows.
std::string OpenSslGroupList(SSL_CTX* context, const std::vector<std::string>& go_names) {
  std::vector<std::string> names;
  if (go_names.empty()) {
    for (std::size_t i = 0; i < kGoDefaultGroups; ++i) names.emplace_back(kGroupNames[i].second);
  }
  for (const std::string& go_name : go_names) {
    const std::string name = OpenSslGroupName(go_name).value();
    if (SSL_CTX_set1_groups_list(context, name.c_str()) == 1) names.push_back(name);
  }
  ERR_clear_error();  // the unknown groups' errors
  return Joined(names);
}

// What client_auth_type and client_allowed_sans ask of a client's certificate; read by the
// verification callback during handshakes, so it lives as long as the context.
struct ClientPolicy {
  bool verify_chain = false;
  std::optional<std::vector<std::string>> allowed_sans;
};

// A context together with the policy its callback points to.
struct ServerTls {
  ssl::context context{ssl::context::tls_server};
  ClientPolicy client;
};

// An IP SAN as Go's net.IP.String() writes it: IPv4 (also IPv4-mapped IPv6) dotted, IPv6 in
// the RFC 5952 form.
std::string FormatIp(const ASN1_OCTET_STRING* address) {
  const unsigned char* bytes = ASN1_STRING_get0_data(address);
  const int length = ASN1_STRING_length(address);
  std::array<char, INET6_ADDRSTRLEN> text{};
  static constexpr std::array<unsigned char, 12> kMappedPrefix = {0, 0, 0, 0, 0,    0,
                                                                  0, 0, 0, 0, 0xff, 0xff};
  if (length == 4) {
    inet_ntop(AF_INET, bytes, text.data(), text.size());
  } else if (length == 16 && std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes)) {
    inet_ntop(AF_INET, bytes + 12, text.data(), text.size());
  } else if (length == 16) {
    inet_ntop(AF_INET6, bytes, text.data(), text.size());
  }
  return text.data();
}

// The DNS, email, IP and URI SANs of a certificate, the ones the exporter-toolkit compares.
std::vector<std::string> SubjectAltNames(X509* certificate) {
  std::vector<std::string> values;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return values;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    const ASN1_STRING* text = nullptr;
    if (name->type == GEN_DNS) text = name->d.dNSName;
    if (name->type == GEN_EMAIL) text = name->d.rfc822Name;
    if (name->type == GEN_URI) text = name->d.uniformResourceIdentifier;
    if (text != nullptr) {
      values.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                          static_cast<std::size_t>(ASN1_STRING_length(text)));
    } else if (name->type == GEN_IPADD) {
      values.push_back(FormatIp(name->d.iPAddress));
    }
  }
  GENERAL_NAMES_free(names);
  return values;
}

// Replaces OpenSSL's chain check: the verifying client_auth_types check the chain, the "Any"
// ones accept it unverified (as Go's tls package does), and then the SANs must match.
int VerifyClient(X509_STORE_CTX* store, void* argument) {
  const auto& policy = *static_cast<const ClientPolicy*>(argument);
  if (policy.verify_chain && X509_verify_cert(store) != 1) return 0;
  if (!policy.allowed_sans) return 1;
  for (const std::string& san : SubjectAltNames(X509_STORE_CTX_get0_cert(store))) {
    if (std::find(policy.allowed_sans->begin(), policy.allowed_sans->end(), san) !=
        policy.allowed_sans->end()) {
      return 1;
    }
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

void SetClientVerification(ServerTls& tls, const WebConfig& web) {
  SSL_CTX* context = tls.context.native_handle();
  const std::string& type = web.client_auth_type;
  tls.client.verify_chain =
      type == "VerifyClientCertIfGiven" || type == "RequireAndVerifyClientCert";
  tls.client.allowed_sans = web.client_allowed_sans;
  int mode = SSL_VERIFY_PEER;
  if (type == "RequireAnyClientCert" || type == "RequireAndVerifyClientCert") {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  if (type == "NoClientCert") mode = SSL_VERIFY_NONE;
  SSL_CTX_set_verify(context, mode, nullptr);
  // Without a client CA, Go verifies client certificates against the system's roots.
  if (tls.client.verify_chain && web.client_ca.empty() && web.client_ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(context);
  }
  SSL_CTX_set_cert_verify_callback(context, VerifyClient, &tls.client);
}

// HTTP/2 is not served, whatever http2 says: a client that offers it gets http/1.1, or no
// ALPN at all when it offers only other protocols.
int SelectHttp11(SSL*, const unsigned char** out, unsigned char* out_length,
                 const unsigned char* offered, unsigned int offered_length, void*) {
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof(kHttp11), offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// OpenSSL's reason, with a hint where its words are obscure.
std::string Describe(const ErrorCode& error) {
  const auto code = static_cast<std::uint64_t>(error.value());
  if (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
    return error.message() + " (not PEM)";
  }
  return error.message();
}

bool KeyMismatch(const ErrorCode& error) {
  return ERR_GET_REASON(static_cast<std::uint64_t>(error.value())) == X509_R_KEY_VALUES_MISMATCH;
}

// One PEM input of the TLS section: the inline text or the file's content, and how errors
// name it ("cert_file \"server.crt\"" or "cert").
struct Pem {
  std::string name;
  std::string text;
};

Result<Pem> ReadPem(const char* inline_key, const std::string& inline_text, const char* file_key,
                    const std::string& path) {
  if (path.empty()) return Pem{inline_key, inline_text};
  Pem pem{std::string(file_key) + " \"" + path + "\"", ""};
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) return Status::Error("tls_server_config." + pem.name + ": cannot read the file");
  pem.text = text.str();
  return pem;
}

Status UseCertificateAndKey(ServerTls& tls, const WebConfig& web) {
  Result<Pem> cert = ReadPem("cert", web.cert, "cert_file", web.cert_file);
  if (!cert.ok()) return cert.status();
  Result<Pem> key = ReadPem("key", web.key, "key_file", web.key_file);
  if (!key.ok()) return key.status();
  ErrorCode error;
  tls.context.use_certificate_chain(asio::buffer(cert.value().text), error);
  if (error)
    return Status::Error("tls_server_config." + cert.value().name + ": " + Describe(error));
  // An encrypted key would make OpenSSL ask for a pass phrase on the terminal and block.
  SSL_CTX_set_default_passwd_cb(tls.context.native_handle(),
                                [](char*, int, int, void*) { return 0; });
  tls.context.use_private_key(asio::buffer(key.value().text), ssl::context::pem, error);
  if (error && !KeyMismatch(error)) {
    // PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY") and traditional ("Proc-Type: 4,ENCRYPTED") keys.
    const std::string hint = key.value().text.find("ENCRYPTED") != std::string::npos
                                 ? " (the key is encrypted; give the exporter an unencrypted key, "
                                   "readable by its user alone)"
                                 : "";
    return Status::Error("tls_server_config." + key.value().name + ": " + Describe(error) + hint);
  }
  if (error || SSL_CTX_check_private_key(tls.context.native_handle()) != 1) {
    return Status::Error("tls_server_config." + key.value().name + " does not match " +
                         cert.value().name);
  }
  return Status::Ok();
}

// Every certificate of the client CA PEM becomes a trust anchor, and its name is sent to
// clients so that they know which certificate to present.
Status UseClientCa(ServerTls& tls, const WebConfig& web) {
  if (web.client_ca.empty() && web.client_ca_file.empty()) return Status::Ok();
  Result<Pem> ca = ReadPem("client_ca", web.client_ca, "client_ca_file", web.client_ca_file);
  if (!ca.ok()) return ca.status();
  SSL_CTX* context = tls.context.native_handle();
  BIO* input = BIO_new_mem_buf(ca.value().text.data(), static_cast<int>(ca.value().text.size()));
  int added = 0;
  while (X509* certificate = PEM_read_bio_X509(input, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(context), certificate);
    SSL_CTX_add_client_CA(context, certificate);
    X509_free(certificate);
    ++added;
  }
  BIO_free(input);
  if (added == 0) {
    return Status::Error("tls_server_config." + ca.value().name + ": no certificate in it");
  }
  return Status::Ok();
}

Status ApplyProtocolPolicy(ServerTls& tls, const WebConfig& web) {
  SSL_CTX* context = tls.context.native_handle();
  SSL_CTX_set_min_proto_version(context, ProtocolVersion(web.min_version));
  SSL_CTX_set_max_proto_version(context, ProtocolVersion(web.max_version));
  // OpenSSL 3 refuses TLS 1.0 and 1.1 (their SHA-1 handshake signatures) above security level
  // 0; a min_version that asks for them gets it, as Go serves them when asked.
  if (ProtocolVersion(web.min_version) < TLS1_2_VERSION) SSL_CTX_set_security_level(context, 0);
  std::uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
  if (web.prefer_server_cipher_suites) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_CTX_set_options(context, options);
  // TLS 1.3 suites keep OpenSSL's defaults, the same three that Go offers. A list of TLS 1.3
  // suites alone leaves TLS 1.2 with none, as in Go: OpenSSL then says "no cipher match" but
  // has set the empty TLS 1.2 list, which refuses every TLS 1.2 handshake.
  const std::string ciphers = OpenSslCipherList(web.cipher_suites);
  if (SSL_CTX_set_cipher_list(context, ciphers.empty() ? "!ALL" : ciphers.c_str()) != 1) {
    if (!ciphers.empty()) {
      return Status::Error("tls_server_config.cipher_suites: OpenSSL offers none of them");
    }
    ERR_clear_error();
  }
  const std::string groups = OpenSslGroupList(context, web.curve_preferences);
  if (groups.empty() || SSL_CTX_set1_groups_list(context, groups.c_str()) != 1) {
    return Status::Error("tls_server_config.curve_preferences: OpenSSL offers none of them");
  }
  SSL_CTX_set_alpn_select_cb(context, SelectHttp11, nullptr);
  return Status::Ok();
}

}  // namespace

std::optional<std::string> OpenSslCipherName(std::string_view go_name) {
  for (const CipherName& name : kCipherNames) {
    if (name.go == go_name) return std::string(name.openssl);
  }
  return std::nullopt;
}

std::optional<std::string> OpenSslGroupName(std::string_view go_name) {
  for (const auto& [go, openssl] : kGroupNames) {
    if (go == go_name) return std::string(openssl);
  }
  return std::nullopt;
}

Result<std::shared_ptr<ssl::context>> MakeTlsContext(const WebConfig& web) {
  // A failed load can leave more entries in this thread's OpenSSL error queue than the one
  // reported; later TLS calls on the thread must not see them.
  struct ClearErrorsOnExit {
    ClearErrorsOnExit() = default;
    ClearErrorsOnExit(const ClearErrorsOnExit&) = delete;
    ClearErrorsOnExit& operator=(const ClearErrorsOnExit&) = delete;
    ~ClearErrorsOnExit() { ERR_clear_error(); }
  } clear_errors;
  auto tls = std::make_shared<ServerTls>();
  for (const auto& step : {UseCertificateAndKey, UseClientCa, ApplyProtocolPolicy}) {
    if (Status applied = step(*tls, web); !applied.ok()) return applied;
  }
  SetClientVerification(*tls, web);
  // Resumed sessions of verified clients need an id context, or OpenSSL refuses them.
  static constexpr unsigned char kSessionContext[] = "outcomes_exporter";
  SSL_CTX_set_session_id_context(tls->context.native_handle(), kSessionContext,
                                 sizeof(kSessionContext) - 1);
  // The context shares the ownership of its policy.
  return std::shared_ptr<ssl::context>(tls, &tls->context);
}

std::vector<FileStamp> StampTlsFiles(const WebConfig& web) {
  std::vector<FileStamp> stamps;
  for (const std::string* path : {&web.cert_file, &web.key_file, &web.client_ca_file}) {
    std::error_code error;  // a missing file stamps as empty, which differs from any real one
    FileStamp stamp{std::filesystem::last_write_time(*path, error), 0};
    stamp.size = std::filesystem::file_size(*path, error);
    if (error) stamp = {};
    stamps.push_back(stamp);
  }
  return stamps;
}

}  // namespace outcomes
