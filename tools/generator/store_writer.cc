#include "tools/generator/store_writer.h"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <pqxx/pqxx>
#include <stdexcept>
#include <tuple>

#include "exporter/core/dsn.h"

namespace outcomes::generator {
namespace {

std::string FormatCents(std::int64_t cents) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf.data();
}

std::string FormatScore(double score) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.6f", score);
  return buf.data();
}

void CopyRecommendations(pqxx::work& tx, const std::vector<Recommendation>& recs,
                         const std::vector<TestInfo>& tests) {
  pqxx::stream_to out{
      tx, "recommendations",
      std::vector<std::string>{"id", "customer_id", "product_id", "model_version", "ab_test_id",
                               "variant", "score", "price", "created_at"}};
  for (const auto& rec : recs) {
    const TestInfo* test =
        rec.test >= 0 ? &tests[static_cast<std::size_t>(static_cast<int>(rec.test))] : nullptr;
    const char* variant = nullptr;
    if (test != nullptr) variant = (rec.variant == 0 ? test->variant_a : test->variant_b).c_str();
    out << std::make_tuple(
        std::to_string(rec.id), CustomerName(rec.customer), ProductName(rec.product),
        kVersions[static_cast<std::size_t>(rec.version)].name,
        test != nullptr ? test->id.c_str() : nullptr, variant, FormatScore(rec.score),
        FormatCents(rec.price_cents), FormatTimestamp(rec.created));
  }
  out.complete();
}

void CopyEvents(pqxx::work& tx, const std::vector<Event>& events) {
  pqxx::stream_to out{
      tx, "outcome_events",
      std::vector<std::string>{"recommendation_id", "status", "reason", "revenue", "occurred_at"}};
  for (const auto& event : events) {
    out << std::make_tuple(std::to_string(event.rec), kStatusName[event.status],
                           kReasonName[event.reason], FormatCents(event.revenue_cents),
                           FormatTimestamp(event.at));
  }
  out.complete();
}

void CopyFeedback(pqxx::work& tx, const std::vector<Feedback>& feedback) {
  pqxx::stream_to out{tx, "feedback",
                      std::vector<std::string>{"recommendation_id", "feedback_type", "score",
                                               "comment", "created_at"}};
  for (const auto& row : feedback) {
    out << std::make_tuple(std::to_string(row.rec), kFeedbackTypeName[row.type],
                           std::to_string(static_cast<int>(row.score)),
                           row.comment >= 0
                               ? kComments[static_cast<std::size_t>(static_cast<int>(row.comment))]
                               : nullptr,
                           FormatTimestamp(row.at));
  }
  out.complete();
}

}  // namespace

StoreWriter::StoreWriter(std::string dsn) : dsn_(std::move(dsn)) { Connect(); }

StoreWriter::~StoreWriter() = default;

void StoreWriter::Connect() {
  auto fresh = std::make_unique<pqxx::connection>(dsn_);
  {
    pqxx::nontransaction tx{*fresh};
    tx.exec("SET application_name = 'outcomes_generator'");
  }
  connection_ = std::move(fresh);
}

void StoreWriter::CheckSchema() {
  pqxx::nontransaction tx{connection()};
  const auto row = tx.exec1(
      "SELECT to_regclass('recommendations') IS NOT NULL, to_regclass('outcome_events') IS "
      "NOT NULL, to_regclass('feedback') IS NOT NULL, to_regclass('ab_tests') IS NOT NULL");
  std::string missing;
  constexpr std::array<const char*, 4> kTables = {"recommendations", "outcome_events", "feedback",
                                                  "ab_tests"};
  for (std::size_t i = 0; i < kTables.size(); ++i) {
    if (!row[static_cast<pqxx::row::size_type>(i)].as<bool>()) {
      missing += missing.empty() ? "" : ", ";
      missing += kTables[i];
    }
  }
  if (!missing.empty()) {
    throw std::runtime_error("table(s) " + missing +
                             " not found: apply deploy/sql/schema.sql to the database first");
  }
  const auto seq = tx.exec1("SELECT pg_get_serial_sequence('recommendations', 'id')");
  if (seq[0].is_null()) {
    throw std::runtime_error(
        "recommendations.id has no sequence: the table does not follow deploy/sql/schema.sql");
  }
  sequence_ = seq[0].as<std::string>();
}

Micros StoreWriter::ClockOffset() {
  pqxx::nontransaction tx{connection()};
  const Micros before = WallMicros();
  const auto row = tx.exec1("SELECT extract(epoch FROM clock_timestamp())::float8");
  const Micros after = WallMicros();
  const auto server = static_cast<Micros>(std::llround(row[0].as<double>() * 1e6));
  return server - (before + after) / 2;
}

TestInfo StoreWriter::EnsureTest(const AbTestSpec& spec, Micros started, std::optional<Micros> ends,
                                 int& inserted) {
  pqxx::work tx{connection()};
  const std::string ends_text = ends ? FormatTimestamp(*ends) : std::string();
  const auto res = tx.exec_params(
      "INSERT INTO ab_tests (test_id, variant_a, variant_b, started_at, ends_at, status) "
      "VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz, $6) "
      "ON CONFLICT (test_id) DO NOTHING",
      spec.id, spec.variant_a, spec.variant_b, FormatTimestamp(started),
      ends ? ends_text.c_str() : nullptr, spec.running ? "RUNNING" : "ENDED");
  inserted += static_cast<int>(res.affected_rows());
  const auto row =
      tx.exec_params1("SELECT variant_a, variant_b FROM ab_tests WHERE test_id = $1", spec.id);
  tx.commit();
  return TestInfo{spec.id, row[0].as<std::string>(), row[1].as<std::string>()};
}

std::vector<std::int64_t> StoreWriter::ReserveIds(std::int64_t count) {
  std::vector<std::int64_t> ids;
  if (count <= 0) return ids;
  pqxx::nontransaction tx{connection()};
  const auto res = tx.exec_params(
      "SELECT nextval($1::regclass) FROM generate_series(1, $2::bigint)", sequence_, count);
  ids.reserve(res.size());
  for (const auto& row : res) ids.push_back(row[0].as<std::int64_t>());
  std::sort(ids.begin(), ids.end());
  return ids;
}

void StoreWriter::Write(const Batch& batch, const std::vector<TestInfo>& tests) {
  pqxx::work tx{connection()};
  if (!batch.recs.empty()) CopyRecommendations(tx, batch.recs, tests);
  if (!batch.events.empty()) CopyEvents(tx, batch.events);
  if (!batch.feedback.empty()) CopyFeedback(tx, batch.feedback);
  tx.commit();
}

void StoreWriter::Exec(const std::string& sql) {
  pqxx::nontransaction tx{connection()};
  tx.exec(sql);
}

pqxx::connection& StoreWriter::connection() {
  if (!connection_) throw pqxx::broken_connection("not connected");
  return *connection_;
}

Micros WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTimestamp(Micros us) {
  Micros secs = us / kSecond;
  Micros frac = us % kSecond;
  if (frac < 0) {
    frac += kSecond;
    secs -= 1;
  }
  const auto seconds = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf.data();
}

Status CheckDsn(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &error);
  if (parsed != nullptr) {
    PQconninfoFree(parsed);
    return Status::Ok();
  }
  // libpq quotes the part it could not parse, which may be a piece of the password.
  const bool may_hold_password = RedactDsn(dsn) != dsn || dsn.find("password") != std::string::npos;
  std::string reason =
      error == nullptr || may_hold_password
          ? std::string("cannot parse the connection string (details hidden: it holds a password)")
          : CleanMessage(error, dsn);
  if (error != nullptr) PQfreemem(error);
  return Status::Error("invalid --dsn: " + reason);
}

std::string CleanMessage(const std::string& message, const std::string& dsn) {
  std::string text = ScrubSecret(message, dsn);
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  // Collapse the runs of spaces left by libpq's "ERROR:  " and multi-line messages.
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace outcomes::generator
