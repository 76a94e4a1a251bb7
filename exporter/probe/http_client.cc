#include "exporter/probe/http_client.h"

#include <fstream>

namespace outcomes {
namespace {

// Boost.Asio's OpenSSL errors often read only "asio.ssl error": say which file and why.
Status CheckPemFile(const char* key, const std::string& path) {
  if (path.empty()) return Status::Ok();
  if (!std::ifstream(path))
    return Status::Error(std::string(key) + " \"" + path + "\": cannot read");
  return Status::Ok();
}

std::string Describe(const char* key, const std::string& path,
                     const boost::system::error_code& error) {
  return std::string(key) + " \"" + path + "\": not a usable PEM file (" + error.message() + ")";
}

Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsContext(const TlsClientConfig& tls) {
  for (const auto& [key, path] : {std::pair{"tls.ca_file", &tls.ca_file},
                                  {"tls.cert_file", &tls.cert_file},
                                  {"tls.key_file", &tls.key_file}}) {
    if (Status status = CheckPemFile(key, *path); !status.ok()) return status;
  }
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code error;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (tls.ca_file.empty()) {
    context->set_default_verify_paths(error);
  } else {
    context->load_verify_file(tls.ca_file, error);
  }
  if (error) {
    return Status::Error(tls.ca_file.empty() ? "cannot load the system CA store: " + error.message()
                                             : Describe("tls.ca_file", tls.ca_file, error));
  }
  if (!tls.cert_file.empty()) {
    context->use_certificate_chain_file(tls.cert_file, error);
    if (error) return Status::Error(Describe("tls.cert_file", tls.cert_file, error));
    context->use_private_key_file(tls.key_file, ssl::context::pem, error);
    if (error) return Status::Error(Describe("tls.key_file", tls.key_file, error));
  }
  return context;
}

std::string FirstLine(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

Result<HttpClient> MakeHttpClient(const HttpClientConfig& config, const std::string& what,
                                  Logger& log) {
  Result<ParsedUrl> url = ParseUrl(config.url);
  if (!url.ok()) return Status::Error(what + ": " + url.error());
  HttpClient client{url.value(), nullptr};
  if (client.url.https) {
    Result<std::shared_ptr<boost::asio::ssl::context>> context = MakeTlsContext(config.tls);
    if (!context.ok()) return Status::Error(what + ": " + context.error());
    client.tls = context.value();
    if (config.tls.insecure_skip_verify) {
      log.Warn("TLS certificate verification is disabled", {{"client", what}});
    }
  }
  return client;
}

ProbeRequest MakeRequest(const HttpClientConfig& config, const HttpClient& client) {
  ProbeRequest request;
  request.url = client.url;
  request.headers = config.headers;
  if (!config.bearer_token_file.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + FirstLine(config.bearer_token_file));
  }
  request.timeout = config.timeout;
  request.tls = client.tls;
  request.tls_server_name = config.tls.server_name;
  request.verify_peer = !config.tls.insecure_skip_verify;
  return request;
}

}  // namespace outcomes
