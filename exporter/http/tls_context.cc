#include "exporter/http/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <string>

namespace outcomes {
namespace {

namespace ssl = boost::asio::ssl;
using ErrorCode = boost::system::error_code;

int ProtocolVersion(const std::string& name) {
  return name == "TLS13" ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// The OpenSSL verification modes of the exporter-toolkit's client_auth_type values. The
// "Any" types ask for a certificate but accept it unverified, as Go's tls package does.
void SetClientVerification(SSL_CTX* context, const std::string& client_auth_type) {
  const auto accept_any = [](int, X509_STORE_CTX*) { return 1; };
  if (client_auth_type == "RequestClientCert") {
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, accept_any);
  } else if (client_auth_type == "RequireAnyClientCert") {
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
  } else if (client_auth_type == "VerifyClientCertIfGiven") {
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  } else if (client_auth_type == "RequireAndVerifyClientCert") {
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  }
}

// OpenSSL's reason, with a hint where its words are obscure.
std::string Describe(const ErrorCode& error) {
  const auto code = static_cast<std::uint64_t>(error.value());
  if (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
    return error.message() + " (not a PEM file)";
  }
  return error.message();
}

// PKCS#8 ("BEGIN ENCRYPTED PRIVATE KEY") and traditional ("Proc-Type: 4,ENCRYPTED") keys.
bool IsEncryptedPem(const std::string& path) {
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    if (line.find("ENCRYPTED") != std::string::npos) return true;
  }
  return false;
}

bool KeyMismatch(const ErrorCode& error) {
  return ERR_GET_REASON(static_cast<std::uint64_t>(error.value())) == X509_R_KEY_VALUES_MISMATCH;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> MakeTlsContext(const WebConfig& web) {
  // A failed load can leave more entries in this thread's OpenSSL error queue than the one
  // reported; later TLS calls on the thread must not see them.
  struct ClearErrorsOnExit {
    ClearErrorsOnExit() = default;
    ClearErrorsOnExit(const ClearErrorsOnExit&) = delete;
    ClearErrorsOnExit& operator=(const ClearErrorsOnExit&) = delete;
    ~ClearErrorsOnExit() { ERR_clear_error(); }
  } clear_errors;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  ErrorCode error;
  context->use_certificate_chain_file(web.cert_file, error);
  if (error) {
    return Status::Error("tls_server_config.cert_file \"" + web.cert_file +
                         "\": " + Describe(error));
  }
  // An encrypted key would make OpenSSL ask for a pass phrase on the terminal and block.
  SSL_CTX_set_default_passwd_cb(native, [](char*, int, int, void*) { return 0; });
  context->use_private_key_file(web.key_file, ssl::context::pem, error);
  if (error && !KeyMismatch(error)) {
    const std::string hint = IsEncryptedPem(web.key_file)
                                 ? " (the key is encrypted; give the exporter an unencrypted key, "
                                   "readable by its user alone)"
                                 : "";
    return Status::Error("tls_server_config.key_file \"" + web.key_file + "\": " + Describe(error) +
                         hint);
  }
  if (error || SSL_CTX_check_private_key(native) != 1) {
    return Status::Error("tls_server_config.key_file \"" + web.key_file +
                         "\" does not match cert_file \"" + web.cert_file + "\"");
  }
  SSL_CTX_set_min_proto_version(native, ProtocolVersion(web.min_version));
  SSL_CTX_set_max_proto_version(native, ProtocolVersion(web.max_version));
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (!web.client_ca_file.empty()) {
    context->load_verify_file(web.client_ca_file, error);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(web.client_ca_file.c_str());
    if (error || names == nullptr) {
      return Status::Error("tls_server_config.client_ca_file \"" + web.client_ca_file +
                           "\": " + (error ? Describe(error) : "no certificate in the file"));
    }
    // Tells clients which CA their certificate must come from.
    SSL_CTX_set_client_CA_list(native, names);
  }
  SetClientVerification(native, web.client_auth_type);
  // Resumed sessions of verified clients need an id context, or OpenSSL refuses them.
  static constexpr unsigned char kSessionContext[] = "outcomes_exporter";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
  return context;
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
