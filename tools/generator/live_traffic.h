// `live`: new recommendations at a steady rate on the wall clock, with their steps written
// seconds later, in small transactions a few times a second, until the duration ends or a
// signal comes. Survives the store going away: keeps the unwritten rows, reconnects with
// backoff and skips what a commit in doubt wrote after all. Not thread-safe.
#pragma once

#include <csignal>

#include "tools/generator/options.h"

namespace outcomes::generator {

// Runs `live` against options.dsn; returns the exit code. Throws on errors other than a
// lost connection (the caller reports them).
int RunLive(const Options& options, const volatile std::sig_atomic_t& stop);

// "1.25s": how the summary lines show durations.
std::string FormatSeconds(double seconds);

}  // namespace outcomes::generator
