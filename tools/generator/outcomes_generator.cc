// outcomes_generator: fills the reference outcomes store (deploy/sql/schema.sql) with
// realistic recommendations, their append-only outcome events and customer feedback.
//
//   outcomes_generator --dsn DSN history [--days N] [--per-day N] [--seed N]
//   outcomes_generator --dsn DSN live [--rate N] [--duration D] [--seed N]
//                      [--degrade-version V] [--degrade-after D] [--degrade-return-rate R]
//
// Both modes run the same simulation: every new recommendation gets its whole life planned
// at once (PENDING, ACCEPTED/REJECTED, PURCHASED/NOT_PURCHASED, maybe RETURNED, feedback),
// each step scheduled some time after the previous one. Scheduled rows wait in a queue and
// are written once their time has come, so nothing in the store is ever in the future and
// rows are appended roughly in time order, like a real system would. `history` runs the
// clock over the past N days as fast as the database accepts rows (COPY, large
// transactions); `live` follows the wall clock with small transactions a few times a second
// and compressed delays (seconds instead of hours and days).

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <queue>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

constexpr const char* kProg = "outcomes_generator";

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_signal(int /*signo*/) { g_stop = 1; }

// Bad command line: reported with exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------
// Time and formatting

using Micros = std::int64_t;  // microseconds since the Unix epoch
constexpr Micros kSecond = 1'000'000;
constexpr Micros kHour = 3600 * kSecond;
constexpr Micros kDay = 24 * kHour;

Micros wall_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Micros to_micros(double seconds) { return static_cast<Micros>(std::llround(seconds * 1e6)); }

// timestamptz literal in UTC, e.g. "2026-11-22 02:30:41.123456+00".
std::string format_ts(Micros us) {
  Micros secs = us / kSecond;
  Micros frac = us % kSecond;
  if (frac < 0) {
    frac += kSecond;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string format_cents(std::int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}

std::string format_score(double score) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", score);
  return buf;
}

std::string format_seconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", seconds);
  return buf;
}

// Durations: one or more <number><unit> with unit ms, s, m, h or d ("90s", "1h30m", "1.5s").
// "0" alone is accepted. Returns seconds.
double parse_duration(std::string_view text, std::string_view what) {
  auto bad = [&]() {
    return UsageError(std::string(what) + ": invalid duration '" + std::string(text) +
                      "' (expected e.g. 500ms, 90s, 10m, 1h30m, 7d)");
  };
  if (text == "0") return 0.0;
  if (text.empty()) throw bad();
  double total = 0.0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == start) throw bad();
    double value = 0.0;
    const auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + i, value);
    if (ec != std::errc{} || ptr != text.data() + i) throw bad();
    double unit = 0.0;
    if (text.substr(i, 2) == "ms") {
      unit = 0.001;
      i += 2;
    } else if (i < text.size()) {
      switch (text[i]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: throw bad();
      }
      ++i;
    } else {
      throw bad();  // a number without a unit
    }
    total += value * unit;
  }
  if (!std::isfinite(total) || total > 1e9) throw bad();
  return total;
}

template <typename T>
T parse_number(std::string_view text, std::string_view what) {
  T value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) {
    throw UsageError(std::string(what) + ": invalid number '" + std::string(text) + "'");
  }
  return value;
}

// ---------------------------------------------------------------------------------------
// Keeping the DSN's password out of every message

// The password as written in the DSN (URI or key=value form), and its decoded value.
std::vector<std::string> dsn_secrets(const std::string& dsn) {
  std::vector<std::string> secrets;
  char* err = nullptr;
  if (PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err)) {
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && *o->val != '\0') {
        secrets.emplace_back(o->val);
      }
    }
    PQconninfoFree(opts);
  }
  if (err != nullptr) PQfreemem(err);
  // Raw forms, also when libpq could not parse the DSN: scheme://user:PASSWORD@host...
  if (const auto scheme = dsn.find("://"); scheme != std::string::npos) {
    const auto begin = scheme + 3;
    const auto end = std::min(dsn.find_first_of("/?#", begin), dsn.size());
    const auto at = dsn.rfind('@', end == 0 ? 0 : end - 1);
    const auto colon = dsn.find(':', begin);
    if (at != std::string::npos && at >= begin && colon != std::string::npos && colon < at) {
      secrets.push_back(dsn.substr(colon + 1, at - colon - 1));
    }
  }
  // ... and password=PASSWORD in key=value form or as a URI parameter.
  for (std::size_t pos = dsn.find("password"); pos != std::string::npos;
       pos = dsn.find("password", pos + 1)) {
    std::size_t i = pos + 8;
    while (i < dsn.size() && dsn[i] == ' ') ++i;
    if (i >= dsn.size() || dsn[i] != '=') continue;
    ++i;
    while (i < dsn.size() && dsn[i] == ' ') ++i;
    std::size_t end = i;
    if (i < dsn.size() && dsn[i] == '\'') {
      end = dsn.find('\'', i + 1);
      if (end == std::string::npos) end = dsn.size();
      ++i;
    } else {
      while (end < dsn.size() && dsn[end] != ' ' && dsn[end] != '&') ++end;
    }
    secrets.push_back(dsn.substr(i, end - i));
  }
  secrets.erase(std::remove_if(secrets.begin(), secrets.end(),
                               [](const std::string& s) { return s.empty(); }),
                secrets.end());
  return secrets;
}

std::vector<std::string> g_secrets;

// One line, without the password.
std::string clean_message(std::string msg) {
  for (const auto& secret : g_secrets) {
    for (auto pos = msg.find(secret); pos != std::string::npos; pos = msg.find(secret, pos + 4)) {
      msg.replace(pos, secret.size(), "****");
    }
  }
  for (char& c : msg) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!msg.empty() && msg.back() == ' ') msg.pop_back();
  // Collapse the runs of spaces left by libpq's "ERROR:  " and multi-line messages.
  std::string out;
  out.reserve(msg.size());
  for (char c : msg) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out.push_back(c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The domain

enum Status : std::uint8_t { kPending, kAccepted, kRejected, kPurchased, kNotPurchased, kReturned };
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

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : eng_(splitmix64(seed)) {}

  double uniform() { return unit_(eng_); }
  bool chance(double p) { return uniform() < p; }
  int below(int n) { return std::min(n - 1, static_cast<int>(uniform() * n)); }
  double normal() { return normal_(eng_); }

  double delay(const Delay& d) {
    return std::clamp(d.median * std::exp(d.sigma * normal()), d.lo, d.hi);
  }

  double beta(double a, double b) {
    std::gamma_distribution<double> ga(a, 1.0);
    std::gamma_distribution<double> gb(b, 1.0);
    const double x = ga(eng_);
    const double y = gb(eng_);
    return x / (x + y);
  }

  template <std::size_t N>
  std::size_t pick(const std::array<double, N>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double r = uniform() * total;
    for (std::size_t i = 0; i < N; ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return N - 1;
  }

 private:
  std::mt19937_64 eng_;
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
  std::int8_t version;  // index into kVersions
  std::int8_t test;     // -1: no test, else index into Simulator::tests
  std::int8_t variant;  // 0: variant_a, 1: variant_b
};

struct Event {
  Micros at;
  std::uint64_t seq;  // tie-breaker: keeps the order deterministic
  std::int64_t rec;
  std::int64_t revenue_cents;
  Status status;
  Reason reason;
};

struct Feedback {
  Micros at;
  std::uint64_t seq;
  std::int64_t rec;
  FeedbackType type;
  std::int8_t score;
  std::int8_t comment;  // -1: none
};

template <typename T>
struct Later {
  bool operator()(const T& x, const T& y) const {
    return x.at != y.at ? x.at > y.at : x.seq > y.seq;
  }
};

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

// Moves the first rows of `b` into a new batch.
Batch take_front(Batch& b, const BatchSizes& n) {
  Batch front;
  const auto move_front = [](auto& from, auto& to, std::size_t count) {
    count = std::min(count, from.size());
    const auto end = from.begin() + static_cast<std::ptrdiff_t>(count);
    to.assign(from.begin(), end);
    from.erase(from.begin(), end);
  };
  move_front(b.recs, front.recs, n.recs);
  move_front(b.events, front.events, n.events);
  move_front(b.feedback, front.feedback, n.feedback);
  return front;
}

struct Totals {
  std::uint64_t recs = 0;
  std::uint64_t events = 0;
  std::uint64_t feedback = 0;
  std::array<std::uint64_t, 6> by_status{};

  void add(const Batch& b) {
    recs += b.recs.size();
    events += b.events.size();
    feedback += b.feedback.size();
    for (const auto& e : b.events) ++by_status[e.status];
  }
};

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

class Simulator {
 public:
  Simulator(std::uint64_t seed, const Timing& timing) : rng_(seed), timing_(timing) {
    // The catalogue is the same whatever the seed, so a product keeps its price across
    // runs (history first, then live).
    Rng catalogue(0x0C0FFEE);
    for (auto& cents : product_cents_) {
      const double price = 5.0 * std::pow(100.0, catalogue.uniform());  // 5 .. 500, log-uniform
      cents = std::clamp<std::int64_t>(static_cast<std::int64_t>(price) * 100 + 99, 500, 49999);
    }
  }

  std::vector<TestInfo> tests;  // indexes used by Recommendation::test
  Degradation degradation;

  // Creates a recommendation and plans its whole life. `weights` are the traffic shares
  // of kVersions; `test` the A/B test running at that time (-1 for none).
  const Recommendation& create(std::int64_t id, Micros at, const std::array<double, 3>& weights,
                               int test, Batch& batch) {
    Recommendation r{};
    r.id = id;
    r.created = at;
    r.version = static_cast<std::int8_t>(rng_.pick(weights));
    // A few heavy customers and popular products, a long tail of the others.
    r.customer = static_cast<std::int32_t>(
        std::min<double>(kCustomers - 1, std::floor(kCustomers * std::pow(rng_.uniform(), 1.4))));
    r.product = static_cast<std::int16_t>(
        std::min<double>(kProducts - 1, std::floor(kProducts * std::pow(rng_.uniform(), 1.8))));
    const ModelVersion& v = kVersions[static_cast<std::size_t>(r.version)];
    r.score = rng_.beta(v.score_a, v.score_b);
    r.price_cents = product_cents_[static_cast<std::size_t>(r.product)];
    if (rng_.chance(0.10)) {  // a promotion: 10-30% off
      const double off = 0.10 + 0.20 * rng_.uniform();
      r.price_cents = std::max<std::int64_t>(
          500,
          static_cast<std::int64_t>(std::llround(static_cast<double>(r.price_cents) * (1 - off))));
    }
    r.test = -1;
    r.variant = 0;
    if (test >= 0) {
      // Customers, not requests, are assigned: half of them take part, split 50/50.
      const std::uint64_t h =
          splitmix64(static_cast<std::uint64_t>(r.customer) * 1000003ULL +
                     std::hash<std::string>{}(tests[static_cast<std::size_t>(test)].id));
      if ((h & 1U) == 0) {
        r.test = static_cast<std::int8_t>(test);
        r.variant = static_cast<std::int8_t>((h >> 1) & 1U);
      }
    }
    plan_life(r);
    batch.recs.push_back(r);
    return batch.recs.back();
  }

  // Moves everything scheduled at or before `upto` into the batch, in time order.
  void drain(Micros upto, Batch& batch) {
    while (!events_.empty() && events_.top().at <= upto) {
      batch.events.push_back(events_.top());
      events_.pop();
    }
    while (!feedback_.empty() && feedback_.top().at <= upto) {
      batch.feedback.push_back(feedback_.top());
      feedback_.pop();
    }
  }

  std::size_t scheduled() const { return events_.size() + feedback_.size(); }

  static std::string customer_name(std::int32_t c) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "cust-%05d", static_cast<int>(c));
    return buf;
  }
  static std::string product_name(std::int16_t p) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "sku-%04d", static_cast<int>(p));
    return buf;
  }

 private:
  enum class Ending : std::uint8_t { kRejected, kNotPurchased, kPurchased, kReturned };

  void event(Micros at, std::int64_t rec, Status st, Reason rs, std::int64_t revenue) {
    events_.push(Event{at, seq_++, rec, revenue, st, rs});
  }

  Micros after(Micros t, const Delay& d) {
    return t + std::max<Micros>(1, to_micros(rng_.delay(d)));
  }

  void plan_life(const Recommendation& r) {
    const ModelVersion& v = kVersions[static_cast<std::size_t>(r.version)];
    // Variant b ("treatment") converts slightly better.
    const double lift = (r.test >= 0 && r.variant == 1) ? 1.0 : 0.0;
    // 0 for the cheapest products, 1 for the most expensive.
    const double price_pos = std::clamp(
        std::log(static_cast<double>(r.price_cents) / 500.0) / std::log(100.0), 0.0, 1.0);

    Micros t = after(r.created, timing_.pending);
    event(t, r.id, kPending, kNoReason, 0);

    t = after(t, timing_.decision);
    const double p_accept = std::clamp(
        v.accept + 0.03 * lift + 0.25 * (r.score - 0.6) - 0.10 * (price_pos - 0.5), 0.05, 0.95);
    if (!rng_.chance(p_accept)) {
      Reason reason = kNoReason;  // 5% of the customers do not say why
      if (!rng_.chance(0.05)) {
        const std::array<double, 5> w = {0.15 + 0.35 * price_pos, 0.35, 0.12, 0.13, 0.10};
        reason = static_cast<Reason>(kPriceTooHigh + rng_.pick(w));
      }
      event(t, r.id, kRejected, reason, 0);
      if (rng_.chance(0.10)) plan_feedback(r, t, Ending::kRejected, lift, reason);
      return;
    }
    event(t, r.id, kAccepted, kNoReason, 0);

    t = after(t, timing_.purchase);
    const double p_buy = std::clamp(
        v.purchase + 0.03 * lift + 0.20 * (r.score - 0.6) - 0.05 * (price_pos - 0.5), 0.05, 0.95);
    if (!rng_.chance(p_buy)) {
      Reason reason = kNoReason;
      if (rng_.chance(0.5)) {
        constexpr std::array<double, 3> w = {0.40, 0.35, 0.25};
        constexpr std::array<Reason, 3> reasons = {kPriceTooHigh, kCompetitorChoice,
                                                   kNotInterested};
        reason = reasons[rng_.pick(w)];
      }
      event(t, r.id, kNotPurchased, reason, 0);
      if (rng_.chance(0.25)) plan_feedback(r, t, Ending::kNotPurchased, lift, reason);
      return;
    }
    Reason happy = kNoReason;
    if (const double u = rng_.uniform(); u < 0.08) {
      happy = kExcellent;
    } else if (u < 0.28) {
      happy = kSatisfied;
    }
    event(t, r.id, kPurchased, happy, r.price_cents);

    double p_return = std::max(0.0, v.ret - 0.005 * lift + 0.03 * (0.6 - r.score));
    if (r.version == degradation.version && t >= degradation.from) {
      p_return = degradation.return_rate;
    }
    if (rng_.chance(p_return)) {
      t = after(t, timing_.ret);
      constexpr std::array<double, 3> w = {0.45, 0.30, 0.25};
      const auto reason = static_cast<Reason>(kQualityIssue + rng_.pick(w));
      event(t, r.id, kReturned, reason, r.price_cents);
      if (rng_.chance(0.70)) plan_feedback(r, t, Ending::kReturned, lift, reason);
      return;
    }
    if (rng_.chance(0.55)) plan_feedback(r, t, Ending::kPurchased, lift, happy);
  }

  void plan_feedback(const Recommendation& r, Micros after_t, Ending ending, double lift,
                     Reason reason) {
    // Which kinds of feedback each ending tends to produce
    // (SATISFACTION, QUALITY, RELEVANCE, PRICE, DELIVERY, CUSTOM).
    std::array<double, 6> type_w{};
    // Score distributions 1..5.
    std::array<double, 5> score_w{};
    const Delay* delay = &timing_.feedback_quick;
    switch (ending) {
      case Ending::kRejected:
        type_w = {0.12, 0.05, 0.43, 0.33, 0.0, 0.07};
        score_w = {0.12, 0.18, 0.30, 0.25, 0.15};
        break;
      case Ending::kNotPurchased:
        type_w = {0.25, 0.05, 0.35, 0.28, 0.0, 0.07};
        score_w = {0.05, 0.08, 0.25, 0.37, 0.25};
        break;
      case Ending::kPurchased:
        type_w = {0.38, 0.20, 0.10, 0.08, 0.20, 0.04};
        score_w = {0.02, 0.03, 0.10, 0.37, 0.48};
        delay = &timing_.feedback_product;
        break;
      case Ending::kReturned:
        type_w = {0.30, 0.38, 0.04, 0.08, 0.12, 0.08};
        score_w = {0.28, 0.30, 0.22, 0.14, 0.06};
        delay = &timing_.feedback_product;
        break;
    }
    const int count = rng_.chance(0.15) ? 2 : 1;
    Micros t = after(after_t, *delay);
    std::size_t previous = type_w.size();
    for (int i = 0; i < count; ++i) {
      std::size_t type = rng_.pick(type_w);
      if (type == previous) type = (type + 1 + static_cast<std::size_t>(rng_.below(5))) % 6;
      previous = type;
      int score = static_cast<int>(rng_.pick(score_w)) + 1;
      if (type == kPrice && reason == kPriceTooHigh) score = std::min(score, 2);
      if (lift > 0 && score < 5 && rng_.chance(0.10)) ++score;  // treatment pleases a bit more
      std::int8_t comment = -1;
      if (type == kCustom || rng_.chance(0.08)) {
        comment = static_cast<std::int8_t>(rng_.below(static_cast<int>(kComments.size())));
      }
      feedback_.push(Feedback{t, seq_++, r.id, static_cast<FeedbackType>(type),
                              static_cast<std::int8_t>(score), comment});
      t = after(t, timing_.feedback_quick);
    }
  }

  Rng rng_;
  Timing timing_;
  std::array<std::int64_t, kProducts> product_cents_{};
  std::uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later<Event>> events_;
  std::priority_queue<Feedback, std::vector<Feedback>, Later<Feedback>> feedback_;
};

// ---------------------------------------------------------------------------------------
// The store

class Store {
 public:
  explicit Store(std::string dsn) : dsn_(std::move(dsn)) { connect(); }

  // (Re)connects; the previous connection is kept until the new one works.
  void connect() {
    auto fresh = std::make_unique<pqxx::connection>(dsn_);
    {
      pqxx::nontransaction tx{*fresh};
      tx.exec("SET application_name = 'outcomes_generator'");
    }
    conn_ = std::move(fresh);
  }

  // Checks that the reference schema is there and remembers the id sequence.
  void check_schema() {
    pqxx::nontransaction tx{conn()};
    const auto row = tx.exec1(
        "SELECT to_regclass('recommendations') IS NOT NULL, to_regclass('outcome_events') IS "
        "NOT NULL, to_regclass('feedback') IS NOT NULL, to_regclass('ab_tests') IS NOT NULL");
    std::string missing;
    constexpr std::array<const char*, 4> names = {"recommendations", "outcome_events", "feedback",
                                                  "ab_tests"};
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (!row[static_cast<pqxx::row::size_type>(i)].as<bool>()) {
        missing += missing.empty() ? "" : ", ";
        missing += names[i];
      }
    }
    if (!missing.empty()) {
      throw std::runtime_error("table(s) " + missing +
                               " not found: apply deploy/sql/schema.sql to the database first");
    }
    const auto seq = tx.exec1("SELECT pg_get_serial_sequence('recommendations', 'id')");
    if (seq[0].is_null()) {
      throw std::runtime_error(
          "recommendations.id has no sequence: the table does not follow "
          "deploy/sql/schema.sql");
    }
    sequence_ = seq[0].as<std::string>();
  }

  // Server clock minus local clock, so that timestamps agree with the server's now().
  Micros clock_offset() {
    pqxx::nontransaction tx{conn()};
    const Micros before = wall_micros();
    const auto row = tx.exec1("SELECT extract(epoch FROM clock_timestamp())::float8");
    const Micros after = wall_micros();
    const auto server = static_cast<Micros>(std::llround(row[0].as<double>() * 1e6));
    return server - (before + after) / 2;
  }

  // Registers an A/B test unless it exists, and returns it as stored.
  TestInfo ensure_test(const AbTestSpec& spec, Micros started, std::optional<Micros> ends,
                       int& inserted) {
    pqxx::work tx{conn()};
    const auto res = tx.exec_params(
        "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at, ends_at, status) "
        "VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz, $6) "
        "ON CONFLICT (test_id) DO NOTHING",
        spec.id, spec.variant_a, spec.variant_b, format_ts(started),
        ends ? format_ts(*ends).c_str() : nullptr, spec.running ? "RUNNING" : "ENDED");
    inserted += static_cast<int>(res.affected_rows());
    const auto row =
        tx.exec_params1("SELECT variant_a, variant_b FROM ab_tests WHERE test_id = $1", spec.id);
    tx.commit();
    return TestInfo{spec.id, row[0].as<std::string>(), row[1].as<std::string>()};
  }

  // Takes `n` values from the recommendations id sequence.
  std::vector<std::int64_t> reserve_ids(std::int64_t n) {
    std::vector<std::int64_t> ids;
    if (n <= 0) return ids;
    pqxx::nontransaction tx{conn()};
    const auto res = tx.exec_params(
        "SELECT nextval($1::regclass) FROM generate_series(1, $2::bigint)", sequence_, n);
    ids.reserve(res.size());
    for (const auto& row : res) ids.push_back(row[0].as<std::int64_t>());
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // Writes a batch in one transaction with COPY.
  void write(const Batch& b, const std::vector<TestInfo>& tests) {
    pqxx::work tx{conn()};
    if (!b.recs.empty()) {
      pqxx::stream_to out{
          tx, "recommendations",
          std::vector<std::string>{"id", "customer_id", "product_id", "model_version", "ab_test_id",
                                   "variant", "score", "price", "created_at"}};
      for (const auto& r : b.recs) {
        const TestInfo* test = r.test >= 0 ? &tests[static_cast<std::size_t>(r.test)] : nullptr;
        const char* variant = nullptr;
        if (test != nullptr) variant = (r.variant == 0 ? test->variant_a : test->variant_b).c_str();
        out << std::make_tuple(
            std::to_string(r.id), Simulator::customer_name(r.customer),
            Simulator::product_name(r.product), kVersions[static_cast<std::size_t>(r.version)].name,
            test != nullptr ? test->id.c_str() : nullptr, variant, format_score(r.score),
            format_cents(r.price_cents), format_ts(r.created));
      }
      out.complete();
    }
    if (!b.events.empty()) {
      pqxx::stream_to out{tx, "outcome_events",
                          std::vector<std::string>{"recommendation_id", "status", "reason",
                                                   "revenue", "occurred_at"}};
      for (const auto& e : b.events) {
        out << std::make_tuple(std::to_string(e.rec), kStatusName[e.status], kReasonName[e.reason],
                               format_cents(e.revenue_cents), format_ts(e.at));
      }
      out.complete();
    }
    if (!b.feedback.empty()) {
      pqxx::stream_to out{tx, "feedback",
                          std::vector<std::string>{"recommendation_id", "feedback_type", "score",
                                                   "comment", "created_at"}};
      for (const auto& f : b.feedback) {
        out << std::make_tuple(
            std::to_string(f.rec), kFeedbackTypeName[f.type],
            std::to_string(static_cast<int>(f.score)),
            f.comment >= 0 ? kComments[static_cast<std::size_t>(f.comment)] : nullptr,
            format_ts(f.at));
      }
      out.complete();
    }
    tx.commit();
  }

  void exec(const std::string& sql) {
    pqxx::nontransaction tx{conn()};
    tx.exec(sql);
  }

 private:
  pqxx::connection& conn() {
    if (!conn_) throw pqxx::broken_connection("not connected");
    return *conn_;
  }

  std::string dsn_;
  std::string sequence_;
  std::unique_ptr<pqxx::connection> conn_;
};

// ---------------------------------------------------------------------------------------
// Command line

struct Options {
  std::string dsn;
  std::string mode;
  long days = 14;
  long per_day = 2000;
  std::uint64_t seed = 1;
  double rate = 10;
  std::optional<double> duration;
  std::string degrade_version;
  std::optional<double> degrade_after;
  double degrade_return_rate = 0.25;
  std::set<std::string> given;
};

constexpr const char* kUsage = R"(usage:
  outcomes_generator --dsn DSN history [--days N] [--per-day N] [--seed N]
  outcomes_generator --dsn DSN live [--rate N] [--duration D] [--seed N]
                     [--degrade-version V] [--degrade-after D] [--degrade-return-rate R]

Fills the outcomes store (deploy/sql/schema.sql must be applied) with realistic
recommendations, their outcome events (PENDING, ACCEPTED/REJECTED, PURCHASED/NOT_PURCHASED,
RETURNED) and customer feedback, for demos and tests.

  --dsn DSN                 libpq connection string or URI (default: $OUTCOMES_DSN)
  --seed N                  random seed (default 1)

history: the past N days up to now, written as fast as possible
  --days N                  length of the history in days (default 14)
  --per-day N               recommendations per day (default 2000)
  Model versions v1.0.0 -> v1.1.0 -> v1.2.0 roll out one after the other; A/B test
  homepage-carousel-2026q3 (ended) then reco-ranker-2026q4 (running) each cover about
  half of the traffic of their period. Steps that would happen after now are left out.

live: new recommendations at a steady rate until the duration ends or SIGINT/SIGTERM
  --rate N                  recommendations per second (default 10)
  --duration D              how long to run, e.g. 90s, 10m (default: until a signal)
  --degrade-version V       make purchases of model version V (v1.1.0 or v1.2.0) return
                            more often ...
  --degrade-after D         ... starting D after the start (default 0s) ...
  --degrade-return-rate R   ... with probability R (default 0.25)
  Traffic: v1.2.0 85%, v1.1.0 15%; half of the customers in reco-ranker-2026q4.
  Events follow within seconds, possibly in later transactions.

Durations: a number with a unit ms, s, m, h or d; units can be combined (1h30m).
)";

Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      std::exit(0);
    }
    if (arg.rfind("--", 0) != 0) {
      if (arg.rfind("-", 0) == 0) throw UsageError("unknown option '" + arg + "' (see --help)");
      if (!o.mode.empty()) throw UsageError("unexpected argument '" + arg + "' (see --help)");
      if (arg != "history" && arg != "live") {
        throw UsageError("unknown command '" + arg + "' (expected history or live)");
      }
      o.mode = arg;
      continue;
    }
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    static const std::set<std::string> known = {"--dsn",
                                                "--days",
                                                "--per-day",
                                                "--seed",
                                                "--rate",
                                                "--duration",
                                                "--degrade-version",
                                                "--degrade-after",
                                                "--degrade-return-rate"};
    if (known.count(arg) == 0) throw UsageError("unknown option '" + arg + "' (see --help)");
    if (!has_value) {
      if (i + 1 >= args.size()) throw UsageError(arg + " needs a value");
      value = args[++i];
    }
    o.given.insert(arg);
    if (arg == "--dsn") {
      o.dsn = value;
    } else if (arg == "--days") {
      o.days = parse_number<long>(value, arg);
      if (o.days < 1 || o.days > 3650) throw UsageError("--days must be between 1 and 3650");
    } else if (arg == "--per-day") {
      o.per_day = parse_number<long>(value, arg);
      if (o.per_day < 1 || o.per_day > 100'000'000) {
        throw UsageError("--per-day must be between 1 and 100000000");
      }
    } else if (arg == "--seed") {
      o.seed = parse_number<std::uint64_t>(value, arg);
    } else if (arg == "--rate") {
      o.rate = parse_number<double>(value, arg);
      if (!(o.rate > 0) || o.rate > 1e6) throw UsageError("--rate must be > 0 and <= 1000000");
    } else if (arg == "--duration") {
      o.duration = parse_duration(value, arg);
      if (*o.duration <= 0) throw UsageError("--duration must be positive");
    } else if (arg == "--degrade-version") {
      o.degrade_version = value;
    } else if (arg == "--degrade-after") {
      o.degrade_after = parse_duration(value, arg);
    } else if (arg == "--degrade-return-rate") {
      o.degrade_return_rate = parse_number<double>(value, arg);
      if (!(o.degrade_return_rate >= 0 && o.degrade_return_rate <= 1)) {
        throw UsageError("--degrade-return-rate must be between 0 and 1");
      }
    }
  }
  if (o.mode.empty()) throw UsageError("missing command: history or live (see --help)");
  if (o.dsn.empty()) {
    if (const char* env = std::getenv("OUTCOMES_DSN"); env != nullptr) o.dsn = env;
  }
  if (o.dsn.empty()) throw UsageError("missing --dsn (or OUTCOMES_DSN)");
  const std::set<std::string> history_only = {"--days", "--per-day"};
  const std::set<std::string> live_only = {"--rate", "--duration", "--degrade-version",
                                           "--degrade-after", "--degrade-return-rate"};
  for (const auto& g : o.given) {
    if (o.mode == "history" && live_only.count(g) != 0) {
      throw UsageError(g + " is only valid for live");
    }
    if (o.mode == "live" && history_only.count(g) != 0) {
      throw UsageError(g + " is only valid for history");
    }
  }
  if (o.mode == "live" && o.degrade_version.empty() &&
      (o.given.count("--degrade-after") != 0 || o.given.count("--degrade-return-rate") != 0)) {
    throw UsageError("--degrade-after and --degrade-return-rate need --degrade-version");
  }
  if (!o.degrade_version.empty() && o.degrade_version != kVersions[kV110].name &&
      o.degrade_version != kVersions[kV120].name) {
    throw UsageError("--degrade-version must be one of the versions live writes: v1.1.0, v1.2.0");
  }
  return o;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string totals_line(const Totals& t) {
  return "recommendations=" + std::to_string(t.recs) +
         " outcome_events=" + std::to_string(t.events) + " feedback=" + std::to_string(t.feedback);
}

// ---------------------------------------------------------------------------------------
// history

// Relative traffic by hour of the day (UTC): quiet at night, busy in the afternoon.
double diurnal(Micros t) {
  const double hour = static_cast<double>((t % kDay + kDay) % kDay) / static_cast<double>(kHour);
  constexpr double kPi = 3.14159265358979323846;
  return 0.35 + 0.65 * (0.5 - 0.5 * std::cos(2 * kPi * (hour - 4.0) / 24.0));
}

// Traffic shares of v1.0.0, v1.1.0, v1.2.0 at fraction f of the history window:
// v1.1.0 replaces v1.0.0 during 35-45%, v1.2.0 ramps up to 85% during 75-85%.
std::array<double, 3> version_mix(double f) {
  const auto ramp = [](double x, double a, double b) {
    return std::clamp((x - a) / (b - a), 0.0, 1.0);
  };
  const double v11 = ramp(f, 0.35, 0.45);
  const double v12 = 0.85 * ramp(f, 0.75, 0.85);
  return {1.0 - v11, v11 * (1.0 - v12), v11 * v12};
}

int run_history(const Options& o) {
  const double t0 = monotonic_seconds();
  Store store(o.dsn);
  store.check_schema();
  store.exec("SET synchronous_commit = off");  // demo data: speed over durability
  const Micros end = wall_micros() + store.clock_offset();
  const Micros window = o.days * kDay;
  const Micros start = end - window;

  Simulator sim(o.seed, kHistoryTiming);
  int tests_inserted = 0;
  const auto at = [&](double f) {
    return start + static_cast<Micros>(f * static_cast<double>(window));
  };
  sim.tests.push_back(
      store.ensure_test(kEndedTest, at(kEndedTest.from), at(kEndedTest.to), tests_inserted));
  sim.tests.push_back(
      store.ensure_test(kRunningTest, at(kRunningTest.from), std::nullopt, tests_inserted));

  // Hour-long chunks; each gets its share of the total by the diurnal curve, exactly.
  const std::int64_t total = static_cast<std::int64_t>(o.days) * o.per_day;
  const std::int64_t chunks = (window + kHour - 1) / kHour;
  std::vector<double> cumulative(static_cast<std::size_t>(chunks) + 1, 0.0);
  for (std::int64_t c = 0; c < chunks; ++c) {
    const Micros a = start + c * kHour;
    const Micros b = std::min(end, a + kHour);
    cumulative[static_cast<std::size_t>(c) + 1] =
        cumulative[static_cast<std::size_t>(c)] +
        diurnal(a + (b - a) / 2) * static_cast<double>(b - a);
  }
  const double weight = cumulative.back();

  Rng time_rng(o.seed ^ 0x5EEDULL);
  Batch batch;
  Totals totals;
  std::vector<std::int64_t> ids;
  std::size_t next_id = 0;
  std::int64_t created = 0;
  constexpr std::size_t kFlushRows = 50'000;
  constexpr std::int64_t kIdBlock = 20'000;
  std::vector<Micros> times;

  for (std::int64_t c = 0; c < chunks && g_stop == 0; ++c) {
    const Micros a = start + c * kHour;
    const Micros b = std::min(end, a + kHour);
    const auto upto = static_cast<std::int64_t>(std::llround(
        static_cast<double>(total) * cumulative[static_cast<std::size_t>(c) + 1] / weight));
    const std::int64_t n = std::max<std::int64_t>(0, upto - created);
    if (ids.size() - next_id < static_cast<std::size_t>(n)) {
      ids = store.reserve_ids(std::max(n, std::min(kIdBlock, total - created)));
      next_id = 0;
    }
    times.clear();
    for (std::int64_t i = 0; i < n; ++i) {
      times.push_back(a + static_cast<Micros>(time_rng.uniform() * static_cast<double>(b - a)));
    }
    std::sort(times.begin(), times.end());
    for (const Micros t : times) {
      const double f = static_cast<double>(t - start) / static_cast<double>(window);
      int test = -1;
      if (f >= kEndedTest.from && f < kEndedTest.to) test = 0;
      if (f >= kRunningTest.from) test = 1;
      sim.create(ids[next_id++], t, version_mix(f), test, batch);
      // Events scheduled before this recommendation was created go first.
      sim.drain(t, batch);
    }
    created += n;
    sim.drain(b, batch);
    if (batch.rows() >= kFlushRows || c + 1 == chunks) {
      store.write(batch, sim.tests);
      totals.add(batch);
      batch.clear();
    }
  }
  const double secs = monotonic_seconds() - t0;
  const bool interrupted = g_stop != 0;
  std::cout << "history: " << (interrupted ? "interrupted after " : "") << o.days
            << (o.days == 1 ? " day x " : " days x ") << o.per_day << "/day: inserted "
            << totals_line(totals) << " ab_tests=" << tests_inserted << " in "
            << format_seconds(secs) << " ("
            << static_cast<long long>(static_cast<double>(totals.recs) / std::max(secs, 1e-6))
            << " recommendations/s); " << sim.scheduled() << " later steps not due yet"
            << std::endl;
  return interrupted ? 130 : 0;
}

// ---------------------------------------------------------------------------------------
// live

int run_live(const Options& o) {
  Store store(o.dsn);
  store.check_schema();
  Micros offset = store.clock_offset();
  const auto now = [&]() { return wall_micros() + offset; };

  Simulator sim(o.seed, kLiveTiming);
  int tests_inserted = 0;
  sim.tests.push_back(store.ensure_test(kRunningTest, now(), std::nullopt, tests_inserted));
  const std::array<double, 3> mix = {0.0, 0.15, 0.85};

  const Micros started = now();
  const double mono_start = monotonic_seconds();
  if (!o.degrade_version.empty()) {
    sim.degradation.version = o.degrade_version == kVersions[kV110].name ? kV110 : kV120;
    sim.degradation.from = started + to_micros(o.degrade_after.value_or(0.0));
    sim.degradation.return_rate = o.degrade_return_rate;
  }
  std::cout << "live: ~" << o.rate << " recommendations/s"
            << (o.duration ? " for " + format_seconds(*o.duration) : std::string(" until stopped"))
            << " (v1.2.0 85%, v1.1.0 15%; half of the customers in " << sim.tests[0].id << ")";
  if (sim.degradation.version >= 0) {
    std::cout << "; " << o.degrade_version << " purchases return at " << o.degrade_return_rate * 100
              << "% after " << format_seconds(o.degrade_after.value_or(0.0));
  }
  std::cout << std::endl;

  constexpr double kTick = 0.25;  // seconds: a few small transactions per second
  Batch batch;
  Totals totals;
  double carry = 0.0;
  Micros last = started;       // recommendations exist up to here
  Micros accounted = started;  // `carry` accounts for the time up to here
  bool degrade_announced = false;
  double next_tick = mono_start;
  double backoff = 0.5;
  // The first rows of `batch` whose COMMIT was in doubt (connection lost while committing).
  BatchSizes doubt;

  while (g_stop == 0) {
    const double mono = monotonic_seconds();
    if (o.duration && mono - mono_start >= *o.duration) break;
    if (mono < next_tick) {
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.05, next_tick - mono)));
      continue;
    }
    next_tick = std::max(next_tick + kTick, mono);

    try {
      const Micros t = now();
      // New recommendations since the last tick, spread over the interval. After an outage
      // at most 10 seconds worth are made up, with creation times during the outage.
      carry = std::min(carry + o.rate * static_cast<double>(t - accounted) / 1e6, o.rate * 10 + 1);
      accounted = t;
      const auto n = static_cast<std::int64_t>(carry);
      const auto ids = store.reserve_ids(n);
      carry -= static_cast<double>(n);
      std::vector<Micros> times;
      for (std::int64_t i = 0; i < n; ++i) {
        times.push_back(
            last + static_cast<Micros>((static_cast<double>(i) + 0.5) / static_cast<double>(n) *
                                       static_cast<double>(t - last)));
      }
      for (std::size_t i = 0; i < ids.size(); ++i) sim.create(ids[i], times[i], mix, 0, batch);
      last = t;
      sim.drain(t, batch);
      if (!degrade_announced && sim.degradation.version >= 0 && t >= sim.degradation.from) {
        degrade_announced = true;
        std::cout << "live: degradation started: " << o.degrade_version
                  << " purchases now return at " << o.degrade_return_rate * 100 << "%" << std::endl;
      }
      if (batch.rows() > 0) {
        try {
          store.write(batch, sim.tests);
        } catch (const pqxx::unique_violation&) {
          if (doubt.recs == 0) throw;
          // The commit that was in doubt went through after all: skip what it wrote.
          totals.add(take_front(batch, doubt));
          doubt = {};
          store.write(batch, sim.tests);
        }
        totals.add(batch);
        batch.clear();
        doubt = {};
      }
      backoff = 0.5;
    } catch (const pqxx::failure& e) {
      // in_doubt_error: the connection broke during COMMIT. Keep the batch: if the commit
      // went through, the retry meets its recommendations' ids and skips that part.
      const bool in_doubt = dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr;
      if (!in_doubt && dynamic_cast<const pqxx::broken_connection*>(&e) == nullptr) throw;
      if (in_doubt && doubt.recs == 0) {
        doubt = BatchSizes{batch.recs.size(), batch.events.size(), batch.feedback.size()};
      }
      // The store went away: keep the batch, reconnect, retry.
      std::cerr << kProg << ": connection lost (" << clean_message(e.what()) << "); retrying in "
                << format_seconds(backoff) << std::endl;
      const double until = monotonic_seconds() + backoff;
      while (g_stop == 0 && monotonic_seconds() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff = std::min(backoff * 2, 10.0);
      try {
        store.connect();
        offset = store.clock_offset();
        std::cerr << kProg << ": reconnected" << std::endl;
      } catch (const pqxx::broken_connection&) {
        // next round
      }
    }
  }
  const double secs = monotonic_seconds() - mono_start;
  std::cout << "live: inserted " << totals_line(totals)
            << " (PURCHASED=" << totals.by_status[kPurchased]
            << " RETURNED=" << totals.by_status[kReturned] << ") in " << format_seconds(secs)
            << " ("
            << static_cast<double>(
                   std::llround(static_cast<double>(totals.recs) / std::max(secs, 1e-6) * 10)) /
                   10
            << " recommendations/s); " << sim.scheduled() + batch.rows()
            << " scheduled steps not written" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  try {
    opts = parse_args(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << kProg << ": " << e.what() << std::endl;
    return 2;
  }
  g_secrets = dsn_secrets(opts.dsn);
  {
    char* err = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(opts.dsn.c_str(), &err);
    if (parsed == nullptr) {
      // libpq quotes the part it could not parse, which may be a piece of the password.
      const bool may_hold_password = !g_secrets.empty();
      std::cerr << kProg << ": invalid --dsn: "
                << (err == nullptr || may_hold_password
                        ? std::string("cannot parse the connection string (details hidden: it "
                                      "holds a password)")
                        : clean_message(err))
                << std::endl;
      if (err != nullptr) PQfreemem(err);
      return 2;
    }
    PQconninfoFree(parsed);
  }
  install_signal_handlers();
  try {
    return opts.mode == "history" ? run_history(opts) : run_live(opts);
  } catch (const pqxx::broken_connection& e) {
    std::cerr << kProg << ": cannot connect to the store: " << clean_message(e.what()) << std::endl;
  } catch (const std::exception& e) {
    std::cerr << kProg << ": error: " << clean_message(e.what()) << std::endl;
  }
  return 1;
}
