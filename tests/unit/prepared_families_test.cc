#include <gtest/gtest.h>
#include <zlib.h>

#include <memory>
#include <stdexcept>

#include "exporter/metrics/exposition.h"
#include "exporter/metrics/family.h"
#include "exporter/metrics/prepared.h"

namespace outcomes {
namespace {

using prometheus::MetricType;

prometheus::MetricFamily Gauge(const std::string& name, const std::string& endpoint, double value,
                               const std::string& help = "Help.") {
  auto family = MakeFamily(name, help, MetricType::Gauge);
  AddSample(family, {{"endpoint", endpoint}}, value);
  return family;
}

PreparedPart Part(const std::vector<prometheus::MetricFamily>& families) {
  return std::make_shared<const PreparedFamilies>(families);
}

// Decompresses one whole gzip member; throws if the data is not exactly that.
std::string Gunzip(const std::string& data) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + 15) != Z_OK) throw std::runtime_error("inflateInit2");
  std::string out(data.size() * 20 + 1024, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = inflate(&stream, Z_FINISH);
  const bool whole = result == Z_STREAM_END && stream.avail_in == 0;
  out.resize(stream.total_out);
  inflateEnd(&stream);
  if (!whole) throw std::runtime_error("not one complete gzip member");
  return out;
}

TEST(PreparedFamiliesTest, TextIsTheSerializedFamilies) {
  const std::vector<prometheus::MetricFamily> families = {Gauge("a", "x", 1), Gauge("b", "x", 2)};
  const PreparedFamilies prepared(families);
  EXPECT_EQ(prepared.text(), Serialize(families));
  ASSERT_EQ(prepared.families().size(), 2u);
  EXPECT_EQ(prepared.Header(prepared.families()[1]), "# HELP b Help.\n# TYPE b gauge\n");
  EXPECT_EQ(prepared.Samples(prepared.families()[1]), "b{endpoint=\"x\"} 2\n");
}

TEST(PreparedFamiliesTest, ConcatenatesPartsWithDistinctNamesInOrder) {
  const PreparedFamilies first({Gauge("a", "x", 1)});
  const PreparedFamilies second({Gauge("b", "y", 2)});
  EXPECT_EQ(Concatenate({&first, nullptr, &second}), first.text() + second.text());
}

TEST(PreparedFamiliesTest, MergesOneNameAcrossPartsWithOneHelpAndType) {
  // Two endpoint collectors, each with its own model_endpoint_up, and a family of its own.
  const PreparedFamilies first({Gauge("model_endpoint_up", "a", 1), Gauge("only_a", "a", 5)});
  const PreparedFamilies second(
      {Gauge("other", "b", 7), Gauge("model_endpoint_up", "b", 0, "Other help.")});
  EXPECT_EQ(Concatenate({&first, &second}),
            "# HELP model_endpoint_up Help.\n"
            "# TYPE model_endpoint_up gauge\n"
            "model_endpoint_up{endpoint=\"a\"} 1\n"
            "model_endpoint_up{endpoint=\"b\"} 0\n"
            "# HELP only_a Help.\n"
            "# TYPE only_a gauge\n"
            "only_a{endpoint=\"a\"} 5\n"
            "# HELP other Help.\n"
            "# TYPE other gauge\n"
            "other{endpoint=\"b\"} 7\n");
}

TEST(PreparedFamiliesTest, MergesTheSameAsMergingTheFamiliesFirst) {
  const std::vector<prometheus::MetricFamily> a = {Gauge("m", "a", 1), Gauge("n", "a", 2)};
  const std::vector<prometheus::MetricFamily> b = {Gauge("n", "b", 3), Gauge("m", "b", 4)};
  const PreparedFamilies first(a);
  const PreparedFamilies second(b);
  EXPECT_EQ(Concatenate({&first, &second}), Serialize(MergeFamilies({a[0], a[1], b[0], b[1]})));
}

TEST(ExpositionBodyTest, TextIsThePartsThenTheScrapeFamilies) {
  Exposition exposition;
  const std::vector<PreparedPart> parts = {Part({Gauge("up", "a", 1)}),
                                           Part({Gauge("up", "b", 0)})};
  const PreparedPart scrape = Part({Gauge("process_open_fds", "", 9)});
  EXPECT_EQ(exposition.Text(parts, scrape),
            Concatenate({parts[0].get(), parts[1].get()}) + scrape->text());
}

TEST(ExpositionBodyTest, ANewPartReplacesTheCachedText) {
  Exposition exposition;
  const PreparedPart scrape = Part({});
  const std::vector<PreparedPart> before = {Part({Gauge("up", "a", 1)})};
  ASSERT_EQ(exposition.Text(before, scrape), before[0]->text());
  ASSERT_EQ(Gunzip(exposition.Gzip(before, scrape)), before[0]->text());
  const std::vector<PreparedPart> after = {Part({Gauge("up", "a", 0)})};
  EXPECT_EQ(exposition.Text(after, scrape), after[0]->text());
  EXPECT_EQ(Gunzip(exposition.Gzip(after, scrape)), after[0]->text());
}

TEST(ExpositionBodyTest, AScrapeFamilyNamedAsACollectorsIsMergedIntoIt) {
  Exposition exposition;
  const std::vector<PreparedPart> parts = {Part({Gauge("shared", "a", 1), Gauge("x", "a", 2)})};
  const PreparedPart scrape = Part({Gauge("shared", "self", 3)});
  const std::string expected = Concatenate({parts[0].get(), scrape.get()});
  EXPECT_EQ(exposition.Text(parts, scrape), expected);
  EXPECT_EQ(Gunzip(exposition.Gzip(parts, scrape)), expected);
}

TEST(ExpositionBodyTest, GzipIsOneMemberOfTheWholeText) {
  Exposition exposition;
  std::vector<prometheus::MetricFamily> many;
  for (int i = 0; i < 2000; ++i) many.push_back(Gauge("m" + std::to_string(i % 50), "a", i));
  const std::vector<PreparedPart> parts = {Part(many), Part({Gauge("up", "b", 0)})};
  // Each scrape part twice: the second time both compressed pieces come from the cache.
  for (const double value : {1.0, 2.0}) {
    const PreparedPart scrape = Part({Gauge("process_open_fds", "", value)});
    for (int repeat = 0; repeat < 2; ++repeat) {
      const std::string gzip = exposition.Gzip(parts, scrape);
      EXPECT_EQ(Gunzip(gzip), exposition.Text(parts, scrape));
      EXPECT_LT(gzip.size(), exposition.Text(parts, scrape).size() / 4);
    }
  }
}

TEST(ExpositionBodyTest, EmptyPartsGiveAValidGzip) {
  Exposition exposition;
  EXPECT_EQ(Gunzip(exposition.Gzip({}, Part({}))), "");
  EXPECT_EQ(Gunzip(GzipCompress("text")), "text");
}

}  // namespace
}  // namespace outcomes
