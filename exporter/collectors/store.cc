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

std::vector<TableSpec> StoreTables(const SchemaSql& sql) {
  const auto spec = [&sql](const std::string& table, const std::string& alias,
                           std::string aggregate_sql, std::size_t label_count,
                           std::vector<Merge> merges) {
    TableSpec out{table, alias + "." + sql.Column(table, "id"), std::move(aggregate_sql),
                  label_count, std::move(merges)};
    out.key = sql.Column(table, "id");
    out.relation = sql.Table(table);
    return out;
  };
  // The labels: model_version, ab_test, variant of the recommendation.
  const std::string arm = sql.Render(
      "r.{recommendations.model_version}, coalesce(r.{recommendations.ab_test_id}, ''), "
      "coalesce(r.{recommendations.variant}, ''), ");
  const auto recommendation_of = [&sql](const char* alias, const char* table) {
    return sql.Render(std::string(" JOIN {recommendations} r ON r.{recommendations.id} = ") +
                      alias + ".{" + table + ".recommendation_id}");
  };
  const auto through_recommendation = [&sql](TableSpec out, const char* alias) {
    out.referenced_table = "recommendations";
    out.reference_column = std::string(alias) + "." + sql.Column(out.table, "recommendation_id");
    out.referenced_id_column = "r." + sql.Column("recommendations", "id");
    return out;
  };
  return {
      spec("recommendations", "r",
           "SELECT " + arm + "count(*) FROM " + sql.Table("recommendations") +
               " r WHERE {filter} GROUP BY 1, 2, 3",
           3, {Merge::kSum}),
      // Revenue in cents keeps sums exact; occurred_at in ms gives the freshness gauge.
      through_recommendation(
          spec("outcome_events", "e",
               "SELECT " + arm + sql.StatusLabel(sql.Render("e.{outcome_events.status}")) +
                   ", coalesce(" + sql.ReasonLabel(sql.Render("e.{outcome_events.reason}")) +
                   ", ''), count(*), " +
                   sql.Render(
                       "coalesce(sum(round(e.{outcome_events.revenue} * 100)), 0)::bigint, "
                       "coalesce(floor(extract(epoch FROM max(e.{outcome_events.occurred_at})) "
                       "* 1000), 0)::bigint FROM {outcome_events} e") +
                   recommendation_of("e", "outcome_events") +
                   " WHERE {filter} GROUP BY 1, 2, 3, 4, 5",
               5, {Merge::kSum, Merge::kSum, Merge::kMax}),
          "e"),
      through_recommendation(
          spec("feedback", "f",
               "SELECT " + sql.Render("r.{recommendations.model_version}, ") +
                   sql.FeedbackTypeLabel(sql.Render("f.{feedback.feedback_type}")) + ", " +
                   sql.Sentiment(sql.Render("f.{feedback.score}")) + ", count(*), " +
                   sql.Render("coalesce(sum(f.{feedback.score}), 0)::bigint FROM {feedback} f") +
                   recommendation_of("f", "feedback") + " WHERE {filter} GROUP BY 1, 2, 3",
               3, {Merge::kSum, Merge::kSum}),
          "f"),
  };
}

const std::vector<TableSpec>& ReferenceTables() {
  static const std::vector<TableSpec> kTables = StoreTables(SchemaSql());
  return kTables;
}

namespace {

SessionOptions OptionsOf(const StoreConfig& config) {
  SessionOptions options;
  options.dsn = config.dsn;
  options.application_name = config.application_name;
  options.connect_timeout = config.connect_timeout;
  options.statement_timeout = config.statement_timeout;
  return options;
}

}  // namespace

StoreCollector::StoreCollector(const StoreConfig& config, StoreCollectorDeps deps)
    : WithSettings(config, CollectorFrame{"store", config.interval, config.timeout}),
      deps_(std::move(deps)),
      tables_(StoreTables(SchemaSql(config_.schema))),
      first_count_(deps_.make_session, OptionsOf(config_)) {
  const SessionOptions options = OptionsOf(config_);
  session_options_ = options;
  connection_ =
      std::make_unique<ReconnectingSession>(deps_.make_session(options), config_.interval,
                                            config_.max_backoff, name_, deps_.log, deps_.now);
  for (const TableSpec& spec : tables_) {
    ledgers_.emplace_back(spec.merges);
    ledgers_.back().KeepReleasedGaps();
  }
  sweeps_.resize(ledgers_.size());
  pass_done_.resize(ledgers_.size());
}

void StoreCollector::Cancel() {
  connection_->Cancel();
  first_count_.Cancel();
}

Status StoreCollector::CountFromScratch() {
  Result<std::vector<TableCount>> counts = first_count_.Run(tables_);
  if (!first_count_.export_error().ok()) {
    deps_.log.Warn("the store did not export a snapshot; the first count ran on one connection",
                   {{"collector", name_}, {"err", first_count_.export_error().message()}});
  }
  if (!counts.ok()) return counts.status();
  const auto now = deps_.now();
  for (std::size_t i = 0; i < ledgers_.size(); ++i) {
    const TableCount& count = counts.value()[i];
    ledgers_[i].ApplyFullCount(count.totals, now, count.watermark, count.gaps);
    ledgers_[i].ReleaseGapsBelow(count.watermark - kInitialGapScan);
    sweeps_[i].Clear();
    sweeps_[i].Add(ledgers_[i].TakeReleasedGaps());
    pass_done_[i] = deps_.wall_now();
  }
  return Status::Ok();
}

CollectOutput StoreCollector::Collect() {
  CollectOutput output;
  Status status = connection_->Ensure();
  if (status.ok() && !ledgers_[0].initialized()) status = CountFromScratch();
  if (status.ok() && !plans_checked_) {
    plans_checked_ = true;
    CheckPlansOnce(deps_.make_session, session_options_, PlannedStatements(), deps_.log, name_,
                   WatchedIndexes(config_.schema));
  }
  if (status.ok()) {
    status = connection_->session().InSnapshot(
        [&](SnapshotReader& reader) { return ReadTables(reader); });
    ReleaseExpiredGaps();
  }
  store_up_ = status.ok();
  output.status = status;
  output.families = BuildFamilies();
  WarnAboutNewDrops();
  return output;
}

void StoreCollector::ReleaseExpiredGaps() {
  const auto now = deps_.now();
  for (std::size_t i = 0; i < ledgers_.size(); ++i) {
    const std::int64_t expired = ledgers_[i].ExpireGaps(now, config_.late_commit_window);
    const std::int64_t dropped = ledgers_[i].LimitGaps(kMaxGapRanges);
    const std::int64_t given_up = sweeps_[i].Add(ledgers_[i].TakeReleasedGaps());
    if (expired + dropped > 0) {
      deps_.log.Debug("missing ids left to the sweep",
                      {{"collector", name_}, {"ids", std::to_string(expired + dropped)}});
    }
    if (given_up > 0) {
      deps_.log.Warn(
          "too many missing id ranges to sweep; the oldest are no longer re-checked",
          {{"collector", name_}, {"table", tables_[i].table}, {"ids", std::to_string(given_up)}});
    }
  }
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

Status StoreCollector::ReadTables(SnapshotReader& reader) {
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    Status status = ReadTable(reader, i);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status StoreCollector::ReadTable(SnapshotReader& reader, std::size_t table) {
  const TableSpec& spec = tables_[table];
  CounterLedger& ledger = ledgers_[table];
  GapSweep& sweep = sweeps_[table];
  const bool from_scratch = !ledger.initialized();
  Result<FullCountReport> report =
      ReadIncremental(reader, spec, ledger, false, deps_.now(), /*scan_all_gaps=*/true);
  if (!report.ok()) return report.status();
  LogRecount(deps_.log, name_, spec.table, report.value());
  if (from_scratch || report.value().rebased) {
    // Counted in this snapshot: the ids missing now are the ones to sweep, no older ones.
    sweep.Clear();
    ledger.ReleaseGapsBelow(ledger.watermark() - kInitialGapScan);
    sweep.Add(ledger.TakeReleasedGaps());
    pass_done_[table] = deps_.wall_now();
    return Status::Ok();
  }
  const std::size_t batch =
      SweepBatchSize(sweep.ranges(), config_.interval, config_.reconcile_interval,
                     static_cast<std::size_t>(config_.sweep_ranges_per_cycle));
  Result<SweepStep> step = SweepOnce(reader, spec, ledger, sweep, batch);
  if (!step.ok()) return step.status();
  if (step.value().rows_found > 0) {
    deps_.log.Info("the sweep found rows committed after store.late_commit_window",
                   {{"collector", name_},
                    {"table", spec.table},
                    {"rows", std::to_string(step.value().rows_found)}});
  }
  if (step.value().pass_done) pass_done_[table] = deps_.wall_now();
  return Status::Ok();
}

void StoreCollector::AddRecommendationFamilies(Families& families) {
  auto family = MakeFamily(
      "outcomes_recommendations_total",
      "Recommendations in the outcomes store (collected in the background, exact within one "
      "reconcile interval).",
      MetricType::Counter);
  AddKept(family, LimitOf(family.name), ledgers_[0].values(), kFirstValue,
          [&](const LabelValues& labels, const Values& values) {
            AddSample(
                family,
                {{"model_version", labels[0]}, {"ab_test", labels[1]}, {"variant", labels[2]}},
                static_cast<double>(values[0]));
          });
  families.push_back(std::move(family));
}

void StoreCollector::AddEventFamilies(Families& families) {
  const auto& events = ledgers_[1];
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

void StoreCollector::AddFeedbackFamilies(Families& families) {
  const auto& feedback = ledgers_[2];
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
            AddSample(counts,
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

void StoreCollector::AddLedgerFamilies(Families& families) {
  auto watermark =
      MakeFamily("outcomes_store_watermark_id", "Highest id counted per table.", MetricType::Gauge);
  auto pending = MakeFamily("outcomes_store_pending_late_ids",
                            "Ids missing below the watermark that are re-checked each cycle "
                            "(transactions not yet committed, or rolled back).",
                            MetricType::Gauge);
  auto corrections =
      MakeFamily("outcomes_store_recount_corrections_total",
                 "Rows the sweep added because they committed after store.late_commit_window.",
                 MetricType::Counter);
  const auto& specs = tables_;
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
  AddSweepFamilies(families);
}

void StoreCollector::AddSweepFamilies(Families& families) {
  auto progress = MakeFamily("outcomes_store_sweep_progress_ratio",
                             "Share of the missing-id ranges the current sweep pass has "
                             "re-checked, per table.",
                             MetricType::Gauge);
  auto period = MakeFamily("outcomes_store_sweep_period_seconds",
                           "How long one sweep pass over the missing-id ranges takes at the "
                           "current pace (store.reconcile_interval unless "
                           "store.sweep_ranges_per_cycle stretches it).",
                           MetricType::Gauge);
  auto ranges = MakeFamily("outcomes_store_sweep_ranges",
                           "Ranges of ids missing for longer than store.late_commit_window that "
                           "the sweep re-checks.",
                           MetricType::Gauge);
  // The oldest of the tables' last passes; unset while a table has not completed one.
  bool every_table_done = true;
  auto all_done = std::chrono::system_clock::time_point::max();
  for (std::size_t i = 0; i < ledgers_.size(); ++i) {
    if (!ledgers_[i].initialized()) continue;
    const LabelValues table = {tables_[i].table};
    const Duration pass =
        SweepPeriod(sweeps_[i].ranges(), config_.interval, config_.reconcile_interval,
                    static_cast<std::size_t>(config_.sweep_ranges_per_cycle));
    AddSample(progress, {{"table", table[0]}}, sweeps_[i].progress());
    AddSample(period, {{"table", table[0]}}, std::chrono::duration<double>(pass).count());
    AddSample(ranges, {{"table", table[0]}}, static_cast<double>(sweeps_[i].ranges()));
    if (pass_done_[i]) {
      all_done = std::min(all_done, *pass_done_[i]);
    } else {
      every_table_done = false;
    }
  }
  if (progress.metric.empty()) return;
  families.push_back(std::move(progress));
  families.push_back(std::move(period));
  families.push_back(std::move(ranges));
  if (!every_table_done) return;
  auto recount = MakeFamily("outcomes_store_last_recount_timestamp_seconds",
                            "When the sweep last completed a pass over every table (the oldest "
                            "of their last passes).",
                            MetricType::Gauge);
  AddSample(recount, {}, Seconds(all_done));
  families.push_back(std::move(recount));
}

void StoreCollector::AddSessionFamilies(Families& families) {
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
}

StoreCollector::Families StoreCollector::BuildFamilies() {
  Families families;
  auto up = MakeFamily("outcomes_store_up",
                       "1 when the last query cycle against the outcomes store succeeded.",
                       MetricType::Gauge);
  AddSample(up, {}, store_up_ ? 1 : 0);
  families.push_back(std::move(up));
  if (ledgers_[0].initialized()) AddRecommendationFamilies(families);
  if (ledgers_[1].initialized()) AddEventFamilies(families);
  if (ledgers_[2].initialized()) AddFeedbackFamilies(families);
  AddLedgerFamilies(families);
  AddSessionFamilies(families);
  return families;
}

void AddStoreCollector(const Config& config, CollectorContext& context, CollectorSet& out) {
  if (config.store) out.Add(std::make_shared<StoreCollector>(*config.store, StoreDeps(context)));
}

}  // namespace outcomes
