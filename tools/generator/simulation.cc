#include "tools/generator/simulation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace outcomes::generator {

Micros ToMicros(double seconds) { return static_cast<Micros>(std::llround(seconds * 1e6)); }

std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

int Rng::Below(int n) { return std::min(n - 1, static_cast<int>(Uniform() * n)); }

double Rng::Lognormal(const Delay& delay) {
  return std::clamp(delay.median * std::exp(delay.sigma * Normal()), delay.lo, delay.hi);
}

double Rng::Beta(double a, double b) {
  std::gamma_distribution<double> gamma_a(a, 1.0);
  std::gamma_distribution<double> gamma_b(b, 1.0);
  const double x = gamma_a(engine_);
  const double y = gamma_b(engine_);
  return x / (x + y);
}

Batch TakeFront(Batch& batch, const BatchSizes& sizes) {
  Batch front;
  const auto move_front = [](auto& from, auto& to, std::size_t count) {
    count = std::min(count, from.size());
    const auto end = from.begin() + static_cast<std::ptrdiff_t>(count);
    to.assign(from.begin(), end);
    from.erase(from.begin(), end);
  };
  move_front(batch.recs, front.recs, sizes.recs);
  move_front(batch.events, front.events, sizes.events);
  move_front(batch.feedback, front.feedback, sizes.feedback);
  return front;
}

void Totals::Add(const Batch& batch) {
  recs += batch.recs.size();
  events += batch.events.size();
  feedback += batch.feedback.size();
  for (const auto& event : batch.events) ++by_status[event.status];
}

std::string TotalsLine(const Totals& totals) {
  return "recommendations=" + std::to_string(totals.recs) +
         " outcome_events=" + std::to_string(totals.events) +
         " feedback=" + std::to_string(totals.feedback);
}

std::string CustomerName(std::int32_t customer) {
  std::array<char, 24> buf{};
  std::snprintf(buf.data(), buf.size(), "cust-%05d", static_cast<int>(customer));
  return buf.data();
}

std::string ProductName(std::int16_t product) {
  std::array<char, 24> buf{};
  std::snprintf(buf.data(), buf.size(), "sku-%04d", static_cast<int>(product));
  return buf.data();
}

Simulator::Simulator(std::uint64_t seed, const Timing& timing) : rng_(seed), timing_(timing) {
  // The catalogue is the same whatever the seed, so a product keeps its price across
  // runs (history first, then live).
  Rng catalogue(0x0C0FFEE);
  for (auto& cents : product_cents_) {
    const double price = 5.0 * std::pow(100.0, catalogue.Uniform());  // 5 .. 500, log-uniform
    cents = std::clamp<std::int64_t>(static_cast<std::int64_t>(price) * 100 + 99, 500, 49999);
  }
}

const Recommendation& Simulator::Create(std::int64_t id, Micros at,
                                        const std::array<double, 3>& weights, int test,
                                        Batch& batch) {
  Recommendation rec{};
  rec.id = id;
  rec.created = at;
  rec.version = static_cast<std::uint8_t>(rng_.Pick(weights));
  // A few heavy customers and popular products, a long tail of the others.
  rec.customer = static_cast<std::int32_t>(
      std::min<double>(kCustomers - 1, std::floor(kCustomers * std::pow(rng_.Uniform(), 1.4))));
  rec.product = static_cast<std::int16_t>(
      std::min<double>(kProducts - 1, std::floor(kProducts * std::pow(rng_.Uniform(), 1.8))));
  const ModelVersion& version = kVersions[static_cast<std::size_t>(rec.version)];
  rec.score = rng_.Beta(version.score_a, version.score_b);
  rec.price_cents = product_cents_[static_cast<std::size_t>(rec.product)];
  if (rng_.Chance(0.10)) {  // a promotion: 10-30% off
    const double off = 0.10 + 0.20 * rng_.Uniform();
    rec.price_cents = std::max<std::int64_t>(
        500,
        static_cast<std::int64_t>(std::llround(static_cast<double>(rec.price_cents) * (1 - off))));
  }
  AssignTest(rec, test);
  PlanLife(rec);
  batch.recs.push_back(rec);
  return batch.recs.back();
}

void Simulator::AssignTest(Recommendation& rec, int test) {
  rec.test = -1;
  rec.variant = 0;
  if (test < 0) return;
  // Customers, not requests, are assigned: half of them take part, split 50/50.
  const std::uint64_t hash =
      SplitMix64(static_cast<std::uint64_t>(rec.customer) * 1000003ULL +
                 std::hash<std::string>{}(tests[static_cast<std::size_t>(test)].id));
  if ((hash & 1U) == 0) {
    rec.test = static_cast<std::int8_t>(test);
    rec.variant = static_cast<std::int8_t>((hash >> 1) & 1U);
  }
}

void Simulator::Drain(Micros upto, Batch& batch) {
  while (!events_.empty() && events_.top().at <= upto) {
    batch.events.push_back(events_.top());
    events_.pop();
  }
  while (!feedback_.empty() && feedback_.top().at <= upto) {
    batch.feedback.push_back(feedback_.top());
    feedback_.pop();
  }
}

void Simulator::AddEvent(Micros at, std::int64_t rec, OutcomeStatus status, Reason reason,
                         std::int64_t revenue) {
  events_.push(Event{at, seq_++, rec, revenue, status, reason});
}

Micros Simulator::After(Micros t, const Delay& delay) {
  return t + std::max<Micros>(1, ToMicros(rng_.Lognormal(delay)));
}

void Simulator::PlanLife(const Recommendation& rec) {
  const ModelVersion& version = kVersions[static_cast<std::size_t>(rec.version)];
  // Variant b ("treatment") converts slightly better.
  const double lift = (rec.test >= 0 && rec.variant == 1) ? 1.0 : 0.0;
  // 0 for the cheapest products, 1 for the most expensive.
  const double price_pos = std::clamp(
      std::log(static_cast<double>(rec.price_cents) / 500.0) / std::log(100.0), 0.0, 1.0);

  Micros t = After(rec.created, timing_.pending);
  AddEvent(t, rec.id, kPending, kNoReason, 0);

  t = After(t, timing_.decision);
  const double p_accept =
      std::clamp(version.accept + 0.03 * lift + 0.25 * (rec.score - 0.6) - 0.10 * (price_pos - 0.5),
                 0.05, 0.95);
  if (rng_.Chance(p_accept)) {
    AddEvent(t, rec.id, kAccepted, kNoReason, 0);
    PlanPurchase(rec, t, lift, price_pos);
    return;
  }
  Reason reason = kNoReason;  // 5% of the customers do not say why
  if (!rng_.Chance(0.05)) {
    const std::array<double, 5> weights = {0.15 + 0.35 * price_pos, 0.35, 0.12, 0.13, 0.10};
    reason = static_cast<Reason>(kPriceTooHigh + rng_.Pick(weights));
  }
  AddEvent(t, rec.id, kRejected, reason, 0);
  if (rng_.Chance(0.10)) PlanFeedback(rec, t, Ending::kRejected, lift, reason);
}

// The steps after ACCEPTED at `t`: (not) purchased, maybe returned, feedback.
void Simulator::PlanPurchase(const Recommendation& rec, Micros t, double lift, double price_pos) {
  const ModelVersion& version = kVersions[static_cast<std::size_t>(rec.version)];
  t = After(t, timing_.purchase);
  const double p_buy = std::clamp(
      version.purchase + 0.03 * lift + 0.20 * (rec.score - 0.6) - 0.05 * (price_pos - 0.5), 0.05,
      0.95);
  if (!rng_.Chance(p_buy)) {
    Reason reason = kNoReason;
    if (rng_.Chance(0.5)) {
      constexpr std::array<double, 3> kWeights = {0.40, 0.35, 0.25};
      constexpr std::array<Reason, 3> kReasons = {kPriceTooHigh, kCompetitorChoice, kNotInterested};
      reason = kReasons[rng_.Pick(kWeights)];
    }
    AddEvent(t, rec.id, kNotPurchased, reason, 0);
    if (rng_.Chance(0.25)) PlanFeedback(rec, t, Ending::kNotPurchased, lift, reason);
    return;
  }
  Reason happy = kNoReason;
  if (const double u = rng_.Uniform(); u < 0.08) {
    happy = kExcellent;
  } else if (u < 0.28) {
    happy = kSatisfied;
  }
  AddEvent(t, rec.id, kPurchased, happy, rec.price_cents);

  double p_return = std::max(0.0, version.ret - 0.005 * lift + 0.03 * (0.6 - rec.score));
  if (rec.version == degradation.version && t >= degradation.from) {
    p_return = degradation.return_rate;
  }
  if (rng_.Chance(p_return)) {
    t = After(t, timing_.ret);
    constexpr std::array<double, 3> kWeights = {0.45, 0.30, 0.25};
    const auto reason = static_cast<Reason>(kQualityIssue + rng_.Pick(kWeights));
    AddEvent(t, rec.id, kReturned, reason, rec.price_cents);
    if (rng_.Chance(0.70)) PlanFeedback(rec, t, Ending::kReturned, lift, reason);
    return;
  }
  if (rng_.Chance(0.55)) PlanFeedback(rec, t, Ending::kPurchased, lift, happy);
}

void Simulator::PlanFeedback(const Recommendation& rec, Micros after_t, Ending ending, double lift,
                             Reason reason) {
  // Which kinds of feedback each ending tends to produce
  // (SATISFACTION, QUALITY, RELEVANCE, PRICE, DELIVERY, CUSTOM).
  std::array<double, 6> type_weights{};
  // Score distributions 1..5.
  std::array<double, 5> score_weights{};
  const Delay* delay = &timing_.feedback_quick;
  switch (ending) {
    case Ending::kRejected:
      type_weights = {0.12, 0.05, 0.43, 0.33, 0.0, 0.07};
      score_weights = {0.12, 0.18, 0.30, 0.25, 0.15};
      break;
    case Ending::kNotPurchased:
      type_weights = {0.25, 0.05, 0.35, 0.28, 0.0, 0.07};
      score_weights = {0.05, 0.08, 0.25, 0.37, 0.25};
      break;
    case Ending::kPurchased:
      type_weights = {0.38, 0.20, 0.10, 0.08, 0.20, 0.04};
      score_weights = {0.02, 0.03, 0.10, 0.37, 0.48};
      delay = &timing_.feedback_product;
      break;
    case Ending::kReturned:
      type_weights = {0.30, 0.38, 0.04, 0.08, 0.12, 0.08};
      score_weights = {0.28, 0.30, 0.22, 0.14, 0.06};
      delay = &timing_.feedback_product;
      break;
  }
  const int count = rng_.Chance(0.15) ? 2 : 1;
  Micros t = After(after_t, *delay);
  std::size_t previous = type_weights.size();
  for (int i = 0; i < count; ++i) {
    std::size_t type = rng_.Pick(type_weights);
    if (type == previous) type = (type + 1 + static_cast<std::size_t>(rng_.Below(5))) % 6;
    previous = type;
    int score = static_cast<int>(rng_.Pick(score_weights)) + 1;
    if (type == kPrice && reason == kPriceTooHigh) score = std::min(score, 2);
    if (lift > 0 && score < 5 && rng_.Chance(0.10)) ++score;  // treatment pleases a bit more
    std::int8_t comment = -1;
    if (type == kCustom || rng_.Chance(0.08)) {
      comment = static_cast<std::int8_t>(rng_.Below(static_cast<int>(kComments.size())));
    }
    feedback_.push(Feedback{t, seq_++, rec.id, static_cast<FeedbackType>(type),
                            static_cast<std::int8_t>(score), comment});
    t = After(t, timing_.feedback_quick);
  }
}

}  // namespace outcomes::generator
