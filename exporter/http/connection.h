// One connection of an HttpServer: (TLS handshake,) then requests in turn, each bounded in
// size and time by the server's limits, routed and answered through HttpServerCore. Internal
// to HttpServer.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "exporter/http/server_core.h"

namespace outcomes {

// Serves `socket` over TLS when `security` has a TLS context, else plain HTTP; the connection
// owns itself from then on. Closes the socket at once when every connection slot is busy.
void OpenConnection(HttpServerCore& server, std::shared_ptr<const WebSecurity> security,
                    boost::asio::ip::tcp::socket socket, std::string remote_address);

}  // namespace outcomes
