// The OpenSSL server context a web config asks for, and the stamps that tell when its TLS files
// were replaced. Pure functions of their arguments; the contexts they return are immutable
// once built and may be shared by every connection.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/core/status.h"
#include "exporter/http/web_config.h"

namespace outcomes {

// Loads the certificate, key and client CA of `web` and applies its TLS policy; the error
// names the key and the file at fault.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeTlsContext(const WebConfig& web);

// The OpenSSL name of a cipher suite named as Go's tls.CipherSuites() names it; "" for the
// TLS 1.3 suites, which Go (and so the exporter-toolkit) does not let one configure; nullopt
// for a name Go does not accept.
std::optional<std::string> OpenSslCipherName(std::string_view go_name);

// The OpenSSL group of a curve named as the exporter-toolkit names it (X25519, CurveP256, ...).
std::optional<std::string> OpenSslGroupName(std::string_view go_name);

// What a TLS file looked like when it was loaded; a change means it was rotated.
struct FileStamp {
  std::filesystem::file_time_type modified;
  std::uintmax_t size = 0;
  bool operator==(const FileStamp&) const = default;
};

// The stamps of the certificate, key and client CA files, in that order.
std::vector<FileStamp> StampTlsFiles(const WebConfig& web);

}  // namespace outcomes
