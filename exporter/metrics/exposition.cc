#include "exporter/metrics/exposition.h"

#include <zlib.h>

#include <array>
#include <initializer_list>
#include <stdexcept>
#include <unordered_set>

namespace outcomes {
namespace {

// A raw deflate stream (no zlib or gzip wrapper) of `input`. With `last`, it ends in a final
// block; without, it ends in a sync flush: byte-aligned and not final, so that another raw
// deflate stream can follow it and the two read as one (as pigz joins its blocks).
std::string Deflate(std::string_view input, bool last, int level) {
  z_stream stream{};
  if (deflateInit2(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(input.size())) + 16, '\0');
  // zlib's interface is not const-correct; deflate only reads next_in.
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, last ? Z_FINISH : Z_SYNC_FLUSH);
  const bool complete = last ? result == Z_STREAM_END : result == Z_OK && stream.avail_in == 0;
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (!complete) throw std::runtime_error("zlib: deflate did not finish");
  return out;
}

unsigned long Crc32(std::string_view data) {
  return crc32_z(0L, reinterpret_cast<const Bytef*>(data.data()), data.size());
}

void AppendLittleEndian32(std::string& out, unsigned long value) {
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xffU));
  }
}

// A gzip member around raw deflate data: fixed header (no name, no time, OS unknown), then the
// CRC-32 and the length modulo 2^32 of the uncompressed data.
// `deflated` is its pieces, in order.
std::string GzipMember(std::initializer_list<std::string_view> deflated, unsigned long crc,
                       std::size_t length) {
  static constexpr std::array<char, 10> kHeader = {'\x1f', '\x8b', '\x08', 0, 0,
                                                   0,      0,      0,      0, '\xff'};
  std::size_t size = kHeader.size() + 8;
  for (const std::string_view piece : deflated) size += piece.size();
  std::string out;
  out.reserve(size);
  out.append(kHeader.data(), kHeader.size());
  for (const std::string_view piece : deflated) out.append(piece);
  AppendLittleEndian32(out, crc);
  AppendLittleEndian32(out, static_cast<unsigned long>(length & 0xffffffffU));
  return out;
}

// The collectors' part is compressed well once per generation; the per-scrape part is small
// and compressed fast on every gzip scrape.
constexpr int kGenerationLevel = Z_DEFAULT_COMPRESSION;
constexpr int kScrapeLevel = Z_BEST_SPEED;

}  // namespace

struct Exposition::Generation {
  std::vector<PreparedPart> parts;
  std::string text;
  std::unordered_set<std::string_view> names;  // views into parts, which this keeps alive

  std::mutex deflate_mutex;  // guards the rest
  bool deflated_ready = false;
  std::string deflated;  // sync-flushed raw deflate of text
  unsigned long crc = 0;
  PreparedPart tail_of;  // the scrape part `tail` compresses
  std::string tail;      // final raw deflate of tail_of's text
  unsigned long tail_crc = 0;

  // True when no family of `scrape` shares a name with one of the parts, so that appending
  // its text keeps every name once.
  bool Disjoint(const PreparedFamilies& scrape) const {
    for (const PreparedFamilies::Family& family : scrape.families()) {
      if (names.contains(family.name)) return false;
    }
    return true;
  }

  // The gzip of the parts' text followed by `scrape`'s; compresses only what was not yet.
  std::string Gzip(const PreparedPart& scrape) {
    const std::lock_guard<std::mutex> lock(deflate_mutex);
    if (!deflated_ready) {
      deflated = Deflate(text, false, kGenerationLevel);
      crc = Crc32(text);
      deflated_ready = true;
    }
    if (tail_of != scrape) {
      tail = Deflate(scrape->text(), true, kScrapeLevel);
      tail_crc = Crc32(scrape->text());
      tail_of = scrape;
    }
    // The CRC of the whole text from the cached one of the collectors' part and the tail's.
    const unsigned long whole_crc =
        crc32_combine(crc, tail_crc, static_cast<z_off_t>(scrape->text().size()));
    return GzipMember({deflated, tail}, whole_crc, text.size() + scrape->text().size());
  }
};

std::shared_ptr<Exposition::Generation> Exposition::Current(
    const std::vector<PreparedPart>& parts) {
  const std::lock_guard<std::mutex> lock(mutex_);
  // The parts are immutable and the generation holds them, so equal pointers mean equal text.
  if (current_ && current_->parts == parts) return current_;
  auto next = std::make_shared<Generation>();
  next->parts = parts;
  std::vector<const PreparedFamilies*> raw;
  raw.reserve(parts.size());
  for (const PreparedPart& part : parts) {
    raw.push_back(part.get());
    if (!part) continue;
    for (const PreparedFamilies::Family& family : part->families()) next->names.insert(family.name);
  }
  next->text = Concatenate(raw);
  current_ = next;
  return next;
}

namespace {

std::string ConcatenateAll(const std::vector<PreparedPart>& parts, const PreparedFamilies& scrape) {
  std::vector<const PreparedFamilies*> raw;
  raw.reserve(parts.size() + 1);
  for (const PreparedPart& part : parts) raw.push_back(part.get());
  raw.push_back(&scrape);
  return Concatenate(raw);
}

}  // namespace

std::string Exposition::Text(const std::vector<PreparedPart>& parts, const PreparedPart& scrape) {
  const std::shared_ptr<Generation> generation = Current(parts);
  // A name in both (a collector exporting one of the sidecar's own names) needs the full merge.
  if (!generation->Disjoint(*scrape)) return ConcatenateAll(parts, *scrape);
  std::string out;
  out.reserve(generation->text.size() + scrape->text().size());
  out += generation->text;
  out += scrape->text();
  return out;
}

std::string Exposition::Gzip(const std::vector<PreparedPart>& parts, const PreparedPart& scrape) {
  const std::shared_ptr<Generation> generation = Current(parts);
  if (!generation->Disjoint(*scrape)) return GzipCompress(ConcatenateAll(parts, *scrape));
  return generation->Gzip(scrape);
}

std::string GzipCompress(std::string_view text) {
  return GzipMember({Deflate(text, true, kGenerationLevel)}, Crc32(text), text.size());
}

}  // namespace outcomes
