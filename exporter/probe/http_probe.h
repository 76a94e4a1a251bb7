// One asynchronous HTTP(S) request with a deadline, on Boost.Beast and OpenSSL: the real
// HttpTransport (transport.h). StartHttpProbe returns at once; the callback runs exactly once on
// the io_context's thread. Nothing blocks the thread, so one thread drives any number of probes.
// Each probe owns its state (not shared).
#pragma once

#include <memory>

#include "exporter/probe/transport.h"

namespace outcomes {

void StartHttpProbe(boost::asio::io_context& io, ProbeRequest request,
                    std::function<void(ProbeResponse)> done);

// StartHttpProbe behind the HttpTransport seam: the transport the product uses. Stateless.
std::shared_ptr<HttpTransport> BeastHttpTransport();

}  // namespace outcomes
