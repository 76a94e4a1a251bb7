// StoreWriter: the generator's only contact with PostgreSQL. Checks the reference schema
// (deploy/sql/schema.sql), registers the A/B tests, takes ids from the recommendations
// sequence and writes batches with COPY, one transaction each. libpqxx exceptions pass
// through (the live loop tells a lost connection from other errors). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <pqxx/connection>
#include <string>
#include <vector>

#include "exporter/core/status.h"
#include "tools/generator/history.h"

namespace outcomes::generator {

class StoreWriter : public RowSink {
 public:
  explicit StoreWriter(std::string dsn);
  ~StoreWriter() override;
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;
  StoreWriter(StoreWriter&&) = delete;
  StoreWriter& operator=(StoreWriter&&) = delete;

  // (Re)connects; the previous connection is kept until the new one works.
  void Connect();

  // Checks that the reference schema is there and remembers the id sequence.
  void CheckSchema();

  // Server clock minus local clock, so that timestamps agree with the server's now().
  Micros ClockOffset();

  // Registers an A/B test unless it exists, and returns it as stored; counts an insert.
  TestInfo EnsureTest(const AbTestSpec& spec, Micros started, std::optional<Micros> ends,
                      int& inserted);

  std::vector<std::int64_t> ReserveIds(std::int64_t count) override;
  void Write(const Batch& batch, const std::vector<TestInfo>& tests) override;

  // Runs one statement outside a transaction (session settings).
  void Exec(const std::string& sql);

 private:
  pqxx::connection& connection();

  std::string dsn_;
  std::string sequence_;
  std::unique_ptr<pqxx::connection> connection_;
};

// The wall clock in microseconds since the epoch.
Micros WallMicros();

// timestamptz literal in UTC, e.g. "2026-11-22 02:30:41.123456+00".
std::string FormatTimestamp(Micros us);

// Fails when libpq cannot parse the DSN; the message never shows a part of a password.
Status CheckDsn(const std::string& dsn);

// A library message on one line, without the DSN's password.
std::string CleanMessage(const std::string& message, const std::string& dsn);

}  // namespace outcomes::generator
