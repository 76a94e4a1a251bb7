#include "exporter/collectors/store.h"

#include <algorithm>

#include "exporter/core/dsn.h"
#include "exporter/metrics/family.h"

namespace outcomes {
namespace {

using prometheus::MetricType;

double Seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

using Values = std::vector<std::int64_t>;

// How SeriesLimit ranks label sets: by their count (the first ledger value), or the sum itself.
constexpr auto kFirstValue = [](const Values& values) { return values[0]; };
constexpr auto kItself = [](std::int64_t value) { return value; };

// Brings `limit` up to date with `series` and passes the kept entries to add(labels, value).
template <typename Map, typename Size, typename Add>
void AddKept(prometheus::MetricFamily& family, SeriesLimit& limit, const Map& series, Size size,
             Add add) {
  limit.Update(series, size);
  family.metric.reserve(limit.kept());
  limit.ForEachKept(series, add);
}

}  // namespace

const std::vector<TableSpec>& ReferenceTables() {
  static const std::vector<TableSpec> kTables = {
      {"recommendations",
       "r.id",
       "SELECT r.model_version, coalesce(r.ab_test_id, ''), coalesce(r.variant, ''), "
       "count(*) FROM recommendations r WHERE {filter} GROUP BY 1, 2, 3",
       3,
       {Merge::kSum}},
      // Revenue in cents keeps sums exact; occurred_at in ms gives the freshness gauge.
      {"outcome_events",
       "e.id",
       "SELECT r.model_version, coalesce(r.ab_test_id, ''), coalesce(r.variant, ''), e.status, "
       "coalesce(e.reason, ''), count(*), coalesce(sum(round(e.revenue * 100)), 0)::bigint, "
       "coalesce(floor(extract(epoch FROM max(e.occurred_at)) * 1000), 0)::bigint "
       "FROM outcome_events e JOIN recommendations r ON r.id = e.recommendation_id "
       "WHERE {filter} GROUP BY 1, 2, 3, 4, 5",
       5,
       {Merge::kSum, Merge::kSum, Merge::kMax}},
      {"feedback",
       "f.id",
       "SELECT r.model_version, f.feedback_type, CASE WHEN f.score >= 4 THEN 'positive' "
       "WHEN f.score = 3 THEN 'neutral' ELSE 'negative' END, count(*), "
       "coalesce(sum(f.score), 0)::bigint "
       "FROM feedback f JOIN recommendations r ON r.id = f.recommendation_id "
       "WHERE {filter} GROUP BY 1, 2, 3",
       3,
       {Merge::kSum, Merge::kSum}},
  };
  return kTables;
}

StoreCollector::StoreCollector(StoreConfig config, StoreCollectorDeps deps)
    : WithSettings(config, CollectorFrame{"store", config.interval, config.timeout}),
      deps_(std::move(deps)) {
  SessionOptions options;
  options.dsn = config_.dsn;
  options.application_name = config_.application_name;
  options.connect_timeout = config_.connect_timeout;
  options.statement_timeout = config_.statement_timeout;
  connection_ =
      std::make_unique<ReconnectingSession>(deps_.make_session(options), config_.interval,
                                            config_.max_backoff, name_, deps_.log, deps_.now);
  for (const TableSpec& spec : ReferenceTables()) ledgers_.emplace_back(spec.merges);
}

void StoreCollector::Cancel() { connection_->Cancel(); }

CollectOutput StoreCollector::Collect() {
  CollectOutput output;
  Status status = connection_->Ensure();
  if (status.ok()) {
    const auto now = deps_.now();
    const bool full_count =
        !last_full_count_ || now - *last_full_count_ >= config_.reconcile_interval;
    status = connection_->session().InSnapshot(
        [&](SnapshotReader& reader) { return ReadTables(reader, full_count); });
    if (status.ok() && full_count) {
      last_full_count_ = now;
      last_full_count_wall_ = deps_.wall_now();
    }
    for (CounterLedger& ledger : ledgers_) {
      const std::int64_t expired = ledger.ExpireGaps(now, config_.late_commit_window);
      const std::int64_t dropped = ledger.LimitGaps(kMaxGapRanges);
      if (expired + dropped > 0) {
        deps_.log.Debug("stopped re-checking missing ids; the next full recount covers them",
                        {{"collector", name_}, {"ids", std::to_string(expired + dropped)}});
      }
    }
  }
  store_up_ = status.ok();
  output.status = status;
  output.families = BuildFamilies();
  WarnAboutNewDrops();
  return output;
}

SeriesLimit& StoreCollector::LimitOf(const std::string& family) {
  return limits_.try_emplace(family, static_cast<std::size_t>(config_.series_limit)).first->second;
}

void StoreCollector::WarnAboutNewDrops() {
  std::string families;
  std::size_t dropped = 0;
  for (const auto& [family, limit] : limits_) {
    if (limit.dropped() == 0 || !warned_families_.insert(family).second) continue;
    families += (families.empty() ? "" : ",") + family;
    dropped += limit.dropped();
  }
  if (families.empty()) return;
  deps_.log.Warn(
      "families exceed store.series_limit; the excess series are left out of /metrics but "
      "still counted",
      {{"collector", name_},
       {"series_limit", std::to_string(config_.series_limit)},
       {"families", families},
       {"dropped", std::to_string(dropped)}});
}

Status StoreCollector::ReadTables(SnapshotReader& reader, bool full_count) {
  const std::vector<TableSpec>& specs = ReferenceTables();
  for (std::size_t i = 0; i < specs.size(); ++i) {
    CounterLedger& ledger = ledgers_[i];
    Result<FullCountReport> report =
        ReadIncremental(reader, specs[i], ledger, full_count, deps_.now());
    if (!report.ok()) return report.status();
    LogRecount(deps_.log, name_, specs[i].table, report.value());
  }
  return Status::Ok();
}

std::vector<prometheus::MetricFamily> StoreCollector::BuildFamilies() {
  std::vector<prometheus::MetricFamily> families;
  const auto& recs = ledgers_[0];
  const auto& events = ledgers_[1];
  const auto& feedback = ledgers_[2];

  auto up = MakeFamily("outcomes_store_up",
                       "1 when the last query cycle against the outcomes store succeeded.",
                       MetricType::Gauge);
  AddSample(up, {}, store_up_ ? 1 : 0);
  families.push_back(std::move(up));

  if (recs.initialized()) {
    auto family = MakeFamily(
        "outcomes_recommendations_total",
        "Recommendations in the outcomes store (collected in the background, exact within one "
        "reconcile interval).",
        MetricType::Counter);
    AddKept(family, LimitOf(family.name), recs.values(), kFirstValue,
            [&](const LabelValues& labels, const Values& values) {
              AddSample(
                  family,
                  {{"model_version", labels[0]}, {"ab_test", labels[1]}, {"variant", labels[2]}},
                  static_cast<double>(values[0]));
            });
    families.push_back(std::move(family));
  }

  if (events.initialized()) {
    auto counts = MakeFamily("outcomes_events_total",
                             "Outcome events in the outcomes store by status and reason "
                             "(collected in the background).",
                             MetricType::Counter);
    auto revenue = MakeFamily("outcomes_revenue_total",
                              "Revenue of PURCHASED and RETURNED outcome events (collected in the "
                              "background).",
                              MetricType::Counter);
    std::map<LabelValues, std::int64_t> revenue_cents;
    std::int64_t newest_ms = 0;
    for (const auto& [labels, values] : events.values()) {
      if (labels[3] == "PURCHASED" || labels[3] == "RETURNED") {
        revenue_cents[{labels[0], labels[1], labels[2], labels[3]}] += values[1];
      }
      newest_ms = std::max(newest_ms, values[2]);
    }
    AddKept(counts, LimitOf(counts.name), events.values(), kFirstValue,
            [&](const LabelValues& labels, const Values& values) {
              AddSample(counts,
                        {{"model_version", labels[0]},
                         {"ab_test", labels[1]},
                         {"variant", labels[2]},
                         {"status", labels[3]},
                         {"reason", labels[4]}},
                        static_cast<double>(values[0]));
            });
    AddKept(revenue, LimitOf(revenue.name), revenue_cents, kItself,
            [&](const LabelValues& labels, std::int64_t cents) {
              AddSample(revenue,
                        {{"model_version", labels[0]},
                         {"ab_test", labels[1]},
                         {"variant", labels[2]},
                         {"status", labels[3]}},
                        static_cast<double>(cents) / 100.0);
            });
    families.push_back(std::move(counts));
    families.push_back(std::move(revenue));
    if (newest_ms > 0) {
      auto newest = MakeFamily("outcomes_store_last_event_timestamp_seconds",
                               "Newest occurred_at of the outcome events counted (data freshness).",
                               MetricType::Gauge);
      AddSample(newest, {}, static_cast<double>(newest_ms) / 1000.0);
      families.push_back(std::move(newest));
    }
  }

  if (feedback.initialized()) {
    auto counts = MakeFamily("outcomes_feedback_total",
                             "Feedback rows by type and sentiment (positive >= 4, neutral = 3, "
                             "negative < 3; collected in the background).",
                             MetricType::Counter);
    auto scores = MakeFamily("outcomes_feedback_score_total",
                             "Sum of feedback scores; mean = score_total / feedback_total "
                             "(collected in the background).",
                             MetricType::Counter);
    std::map<LabelValues, std::int64_t> score_sums;
    for (const auto& [labels, values] : feedback.values()) {
      score_sums[{labels[0], labels[1]}] += values[1];
    }
    AddKept(counts, LimitOf(counts.name), feedback.values(), kFirstValue,
            [&](const LabelValues& labels, const Values& values) {
              AddSample(
                  counts,
                  {{"model_version", labels[0]}, {"type", labels[1]}, {"sentiment", labels[2]}},
                  static_cast<double>(values[0]));
            });
    AddKept(scores, LimitOf(scores.name), score_sums, kItself,
            [&](const LabelValues& labels, std::int64_t sum) {
              AddSample(scores, {{"model_version", labels[0]}, {"type", labels[1]}},
                        static_cast<double>(sum));
            });
    families.push_back(std::move(counts));
    families.push_back(std::move(scores));
  }

  auto watermark =
      MakeFamily("outcomes_store_watermark_id", "Highest id counted per table.", MetricType::Gauge);
  auto pending = MakeFamily("outcomes_store_pending_late_ids",
                            "Ids missing below the watermark that are re-checked each cycle "
                            "(transactions not yet committed, or rolled back).",
                            MetricType::Gauge);
  auto corrections =
      MakeFamily("outcomes_store_recount_corrections_total",
                 "Rows the full recount added because incremental reads had missed them.",
                 MetricType::Counter);
  const auto& specs = ReferenceTables();
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (!ledgers_[i].initialized()) continue;
    AddSample(watermark, {{"table", specs[i].table}}, static_cast<double>(ledgers_[i].watermark()));
    AddSample(pending, {{"table", specs[i].table}}, static_cast<double>(ledgers_[i].pending_ids()));
    AddSample(corrections, {{"table", specs[i].table}},
              static_cast<double>(ledgers_[i].corrections()));
  }
  if (!watermark.metric.empty()) {
    families.push_back(std::move(watermark));
    families.push_back(std::move(pending));
    families.push_back(std::move(corrections));
  }

  if (last_full_count_) {
    auto recount =
        MakeFamily("outcomes_store_last_recount_timestamp_seconds",
                   "When the last full recount of the store succeeded.", MetricType::Gauge);
    AddSample(recount, {}, Seconds(last_full_count_wall_));
    families.push_back(std::move(recount));
  }

  auto dropped = MakeFamily("outcomes_exporter_series_dropped",
                            "Label sets of a built-in family left out of /metrics by "
                            "store.series_limit (still counted).",
                            MetricType::Gauge);
  for (const auto& [family, limit] : limits_) {
    AddSample(dropped, {{"collector", name_}, {"family", family}},
              static_cast<double>(limit.dropped()));
  }
  if (!dropped.metric.empty()) families.push_back(std::move(dropped));

  auto durations = MakeFamily("outcomes_store_query_duration_seconds",
                              "Duration of the last run of each store query.", MetricType::Gauge);
  for (const auto& [query, seconds] : connection_->session().QueryDurations()) {
    AddSample(durations, {{"query", query}}, seconds);
  }
  if (!durations.metric.empty()) families.push_back(std::move(durations));
  return families;
}

void AddStoreCollector(const Config& config, CollectorContext& context, CollectorSet& out) {
  if (config.store) out.Add(std::make_shared<StoreCollector>(*config.store, StoreDeps(context)));
}

}  // namespace outcomes
