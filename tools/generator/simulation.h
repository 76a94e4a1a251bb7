// The generator's model of a recommendation system: recommendations, the life of each one
// (PENDING, ACCEPTED/REJECTED, PURCHASED/NOT_PURCHASED, maybe RETURNED) and the customer
// feedback it draws. Every new recommendation gets its whole life planned at once, each step
// some time after the previous one; planned rows wait in a queue until their time has come.
// Deterministic: the same seed and the same calls give the same rows. Knows nothing of the
// store. A Simulator is not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace outcomes::generator {

using Micros = std::int64_t;  // microseconds since the Unix epoch
constexpr Micros kSecond = 1'000'000;
constexpr Micros kHour = 3600 * kSecond;
constexpr Micros kDay = 24 * kHour;

Micros ToMicros(double seconds);

enum OutcomeStatus : std::uint8_t {
  kPending,
  kAccepted,
  kRejected,
  kPurchased,
  kNotPurchased,
  kReturned
};
constexpr std::array<const char*, 6> kStatusName = {"PENDING",   "ACCEPTED",      "REJECTED",
                                                    "PURCHASED", "NOT_PURCHASED", "RETURNED"};

enum Reason : std::uint8_t {
  kNoReason,
  kPriceTooHigh,
  kNotInterested,
  kQualityConcern,
  kCompetitorChoice,
  kAlreadyOwns,
  kQualityIssue,
  kNotAsDescribed,
  kBetterAlternative,
  kSatisfied,
  kExcellent,
};
constexpr std::array<const char*, 11> kReasonName = {
    nullptr,        "PRICE_TOO_HIGH", "NOT_INTERESTED",   "QUALITY_CONCERN",    "COMPETITOR_CHOICE",
    "ALREADY_OWNS", "QUALITY_ISSUE",  "NOT_AS_DESCRIBED", "BETTER_ALTERNATIVE", "SATISFIED",
    "EXCELLENT"};

enum FeedbackType : std::uint8_t {
  kSatisfaction,
  kQuality,
  kRelevance,
  kPrice,
  kDelivery,
  kCustom
};
constexpr std::array<const char*, 6> kFeedbackTypeName = {"SATISFACTION", "QUALITY",  "RELEVANCE",
                                                          "PRICE",        "DELIVERY", "CUSTOM"};

// Free-text comments; a few exercise quoting and escaping on the way into the store.
constexpr std::array<const char*, 12> kComments = {
    "Great recommendation, exactly what I needed",
    "Arrived two days late",
    "Too expensive compared to other shops",
    "Quality is \"ok\" \xE2\x80\x94 not great",
    "Would buy again \xF0\x9F\x91\x8D",
    "Box was damaged.\nProduct itself is fine.",
    "Not relevant to me",
    "C'est parfait, merci",
    "Size chart is wrong (EU/US\\UK)",
    "Cheaper\tthan the competition",
    "Stopped working after a week",
    "Nice surprise",
};

struct ModelVersion {
  const char* name;
  double accept;    // base probability of ACCEPTED
  double purchase;  // base probability of PURCHASED once accepted
  double ret;       // base probability of RETURNED once purchased
  double score_a;   // score ~ Beta(score_a, score_b)
  double score_b;
};
constexpr std::array<ModelVersion, 3> kVersions = {{
    {"v1.0.0", 0.62, 0.53, 0.072, 5.5, 4.5},
    {"v1.1.0", 0.65, 0.56, 0.066, 6.0, 4.0},
    {"v1.2.0", 0.67, 0.58, 0.060, 6.5, 3.8},
}};
constexpr int kV110 = 1;
constexpr int kV120 = 2;

constexpr int kCustomers = 4000;
constexpr int kProducts = 300;

// A/B tests written by `history` (window fractions) and used by `live`.
struct AbTestSpec {
  const char* id;
  const char* variant_a;
  const char* variant_b;
  double from;  // fraction of the history window
  double to;
  bool running;
};
constexpr AbTestSpec kEndedTest{
    "homepage-carousel-2026q3", "control", "carousel", 0.0, 0.40, false};
constexpr AbTestSpec kRunningTest{"reco-ranker-2026q4", "control", "treatment", 0.45, 1.0, true};

// Delays between the steps of a recommendation's life, in seconds: lognormal around a
// median, clamped. `history` uses real-world delays, `live` compresses them to seconds.
struct Delay {
  double median;
  double sigma;
  double lo;
  double hi;
};
struct Timing {
  Delay pending;           // creation -> PENDING
  Delay decision;          // PENDING -> ACCEPTED / REJECTED
  Delay purchase;          // ACCEPTED -> PURCHASED / NOT_PURCHASED
  Delay ret;               // PURCHASED -> RETURNED
  Delay feedback_quick;    // after a rejection or a non-purchase
  Delay feedback_product;  // after a purchase or a return
};
constexpr Timing kHistoryTiming{
    {0.3, 1.0, 0.01, 2.0},
    {900, 1.2, 20, 2 * 86400.0},
    {4 * 3600.0, 1.0, 120, 5 * 86400.0},
    {1.5 * 86400, 0.6, 6 * 3600.0, 8 * 86400.0},
    {120, 1.0, 10, 3600},
    {86400, 1.0, 3600, 6 * 86400.0},
};
constexpr Timing kLiveTiming{
    {0.05, 0.5, 0.01, 0.2}, {1.0, 0.8, 0.1, 6.0}, {2.0, 0.7, 0.2, 10.0},
    {3.0, 0.6, 0.5, 12.0},  {1.5, 0.6, 0.2, 6.0}, {3.0, 0.6, 0.5, 12.0},
};

std::uint64_t SplitMix64(std::uint64_t x);

// Seeded random numbers for the model; the same seed gives the same sequence.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(SplitMix64(seed)) {}

  double Uniform() { return unit_(engine_); }
  bool Chance(double p) { return Uniform() < p; }
  int Below(int n);
  double Normal() { return normal_(engine_); }
  double Lognormal(const Delay& delay);
  double Beta(double a, double b);

  // An index drawn with the given relative weights.
  template <std::size_t N>
  std::size_t Pick(const std::array<double, N>& weights) {
    double total = 0;
    for (const double w : weights) total += w;
    double r = Uniform() * total;
    for (std::size_t i = 0; i < N; ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return N - 1;
  }

 private:
  std::mt19937_64 engine_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  std::normal_distribution<double> normal_{0.0, 1.0};
};

struct Recommendation {
  std::int64_t id;
  Micros created;
  double score;
  std::int64_t price_cents;
  std::int32_t customer;
  std::int16_t product;
  std::uint8_t version;  // index into kVersions
  std::int8_t test;      // -1: no test, else index into Simulator::tests
  std::int8_t variant;   // 0: variant_a, 1: variant_b

  bool operator==(const Recommendation&) const = default;
};

struct Event {
  Micros at;
  std::uint64_t seq;  // tie-breaker: keeps the order deterministic
  std::int64_t rec;
  std::int64_t revenue_cents;
  OutcomeStatus status;
  Reason reason;

  bool operator==(const Event&) const = default;
};

struct Feedback {
  Micros at;
  std::uint64_t seq;
  std::int64_t rec;
  FeedbackType type;
  std::int8_t score;
  std::int8_t comment;  // -1: none

  bool operator==(const Feedback&) const = default;
};

// Rows due for writing, in the order they are written.
struct Batch {
  std::vector<Recommendation> recs;
  std::vector<Event> events;
  std::vector<Feedback> feedback;

  std::size_t rows() const { return recs.size() + events.size() + feedback.size(); }
  void clear() {
    recs.clear();
    events.clear();
    feedback.clear();
  }
};

struct BatchSizes {
  std::size_t recs = 0;
  std::size_t events = 0;
  std::size_t feedback = 0;
};

// Moves the first rows of `batch` into a new batch.
Batch TakeFront(Batch& batch, const BatchSizes& sizes);

struct Totals {
  std::uint64_t recs = 0;
  std::uint64_t events = 0;
  std::uint64_t feedback = 0;
  std::array<std::uint64_t, 6> by_status{};

  void Add(const Batch& batch);
};

// "recommendations=N outcome_events=N feedback=N", for the summary lines.
std::string TotalsLine(const Totals& totals);

// An A/B test as stored (its variants may differ from the spec if it existed before).
struct TestInfo {
  std::string id;
  std::string variant_a;
  std::string variant_b;
};

// Makes the worse return rate of one model version start at some point in time.
struct Degradation {
  int version = -1;
  Micros from = std::numeric_limits<Micros>::max();
  double return_rate = 0.25;
};

std::string CustomerName(std::int32_t customer);
std::string ProductName(std::int16_t product);

class Simulator {
 public:
  Simulator(std::uint64_t seed, const Timing& timing);

  std::vector<TestInfo> tests;  // indexes used by Recommendation::test
  Degradation degradation;

  // Creates a recommendation and plans its whole life. `weights` are the traffic shares
  // of kVersions; `test` the A/B test running at that time (-1 for none).
  const Recommendation& Create(std::int64_t id, Micros at, const std::array<double, 3>& weights,
                               int test, Batch& batch);

  // Moves everything scheduled at or before `upto` into the batch, in time order.
  void Drain(Micros upto, Batch& batch);

  // Planned steps not yet drained.
  std::size_t scheduled() const { return events_.size() + feedback_.size(); }

 private:
  enum class Ending : std::uint8_t { kRejected, kNotPurchased, kPurchased, kReturned };

  template <typename T>
  struct Later {
    bool operator()(const T& x, const T& y) const {
      return x.at != y.at ? x.at > y.at : x.seq > y.seq;
    }
  };

  void AssignTest(Recommendation& rec, int test);
  void AddEvent(Micros at, std::int64_t rec, OutcomeStatus status, Reason reason,
                std::int64_t revenue);
  Micros After(Micros t, const Delay& delay);
  void PlanLife(const Recommendation& rec);
  void PlanPurchase(const Recommendation& rec, Micros t, double lift, double price_pos);
  void PlanFeedback(const Recommendation& rec, Micros after_t, Ending ending, double lift,
                    Reason reason);

  Rng rng_;
  Timing timing_;
  std::array<std::int64_t, kProducts> product_cents_{};
  std::uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later<Event>> events_;
  std::priority_queue<Feedback, std::vector<Feedback>, Later<Feedback>> feedback_;
};

}  // namespace outcomes::generator
