// Exposition: the /metrics body, built from the collectors' prepared parts and a small part
// built per scrape (the sidecar's own and process metrics, which change between scrapes).
// The parts of one generation (one set of parts; the end of any cycle makes the next) are
// merged once, and compressed once for gzip scrapes; a scrape then appends its own part
// (compressed once per such part too), so repeated scrapes neither re-serialize nor
// re-compress.
// Thread-safe: scrapes may call it concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/metrics/prepared.h"

namespace outcomes {

class Exposition {
 public:
  // The text exposition of `parts` followed by `scrape`.
  std::string Text(const std::vector<PreparedPart>& parts, const PreparedPart& scrape);
  // The same text, gzip-compressed (RFC 1952).
  std::string Gzip(const std::vector<PreparedPart>& parts, const PreparedPart& scrape);

 private:
  struct Generation;
  std::shared_ptr<Generation> Current(const std::vector<PreparedPart>& parts);

  std::mutex mutex_;
  std::shared_ptr<Generation> current_;
};

// gzip of `text` in one member, for tests and for bodies that are not cached.
std::string GzipCompress(std::string_view text);

}  // namespace outcomes
