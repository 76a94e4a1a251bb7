// The generator's model and command line, without PostgreSQL: history written to memory.
#include <gtest/gtest.h>

#include <vector>

#include "tools/generator/history.h"
#include "tools/generator/options.h"
#include "tools/generator/simulation.h"

namespace outcomes::generator {
namespace {

// Keeps every row written, with ids counted from 1 like a fresh sequence.
class MemorySink : public RowSink {
 public:
  std::vector<std::int64_t> ReserveIds(std::int64_t count) override {
    std::vector<std::int64_t> ids;
    for (std::int64_t i = 0; i < count; ++i) ids.push_back(++last_id_);
    return ids;
  }
  void Write(const Batch& batch, const std::vector<TestInfo>& /*tests*/) override {
    rows.recs.insert(rows.recs.end(), batch.recs.begin(), batch.recs.end());
    rows.events.insert(rows.events.end(), batch.events.begin(), batch.events.end());
    rows.feedback.insert(rows.feedback.end(), batch.feedback.begin(), batch.feedback.end());
  }

  Batch rows;

 private:
  std::int64_t last_id_ = 0;
};

// Two days of 3000 recommendations a day, ending at a fixed time.
Batch History(std::uint64_t seed) {
  HistoryWindow window;
  window.end = 1'795'000'000 * kSecond;
  window.start = window.end - 2 * kDay;
  window.recommendations = 6000;
  window.seed = seed;
  Simulator sim(seed, kHistoryTiming);
  sim.tests = {{kEndedTest.id, kEndedTest.variant_a, kEndedTest.variant_b},
               {kRunningTest.id, kRunningTest.variant_a, kRunningTest.variant_b}};
  MemorySink sink;
  const volatile std::sig_atomic_t stop = 0;
  const HistoryResult result = RunHistory(window, sim, sink, stop);
  EXPECT_FALSE(result.interrupted);
  return sink.rows;
}

TEST(GeneratorHistoryTest, SameSeedWritesSameRowsTwice) {
  const Batch first = History(7);
  const Batch second = History(7);
  ASSERT_EQ(first.recs.size(), 6000U);
  ASSERT_GT(first.events.size(), first.recs.size());
  ASSERT_FALSE(first.feedback.empty());
  EXPECT_EQ(first.recs, second.recs);
  EXPECT_EQ(first.events, second.events);
  EXPECT_EQ(first.feedback, second.feedback);
}

TEST(GeneratorHistoryTest, OtherSeedWritesOtherRows) {
  const Batch first = History(7);
  const Batch other = History(8);
  ASSERT_EQ(other.recs.size(), first.recs.size());
  EXPECT_NE(first.recs, other.recs);
  EXPECT_NE(first.events, other.events);
}

TEST(GeneratorHistoryTest, WritesNothingAfterTheEndOfTheWindow) {
  const Batch rows = History(7);
  const Micros end = 1'795'000'000 * kSecond;
  for (const auto& event : rows.events) ASSERT_LE(event.at, end);
  for (const auto& feedback : rows.feedback) ASSERT_LE(feedback.at, end);
}

Result<Options> Parse(const std::vector<std::string>& args) {
  return ParseOptions(args, "dbname=outcomes");
}

TEST(GeneratorOptionsTest, ReadsDurationsWithTheExporterParser) {
  const Result<Options> options = Parse(
      {"live", "--duration", "1m30s", "--degrade-after=500ms", "--degrade-version", "v1.2.0"});
  ASSERT_TRUE(options.ok()) << options.error();
  EXPECT_EQ(*options.value().duration, std::chrono::seconds(90));
  EXPECT_EQ(*options.value().degrade_after, std::chrono::milliseconds(500));
  EXPECT_EQ(options.value().dsn, "dbname=outcomes");
}

TEST(GeneratorOptionsTest, NamesTheOptionOfAnInvalidDuration) {
  const Result<Options> options = Parse({"live", "--duration", "soon"});
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.error().rfind("--duration: invalid duration \"soon\"", 0), 0U)
      << options.error();
}

TEST(GeneratorOptionsTest, RejectsALiveOptionForHistory) {
  const Result<Options> options = Parse({"history", "--rate", "5"});
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.error(), "--rate is only valid for live");
}

}  // namespace
}  // namespace outcomes::generator
