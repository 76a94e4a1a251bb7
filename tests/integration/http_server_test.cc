// HttpServer over real loopback sockets: routing, HEAD, keep-alive, request limits, the
// connection cap, timeouts, concurrency of handlers, IPv6, listen errors, and the sidecar's
// /metrics route with gzip.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <iostream>
#include <sstream>
#include <thread>

#include "exporter/app.h"
#include "exporter/http/server.h"
#include "tests/lib/credentials.h"

namespace outcomes {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Response = http::response<http::string_body>;
using test_support::BasicAuthorization;
using test_support::BcryptHash;

HttpResponse Text(std::string body) {
  return HttpResponse{200, "text/plain; charset=utf-8", std::move(body), {}};
}

// A blocking client connection to the server under test.
class Client {
 public:
  explicit Client(int port, const std::string& host = "127.0.0.1") : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port)));
  }

  void Send(const std::string& raw) { asio::write(socket_, asio::buffer(raw)); }

  Response Get(const std::string& target, http::verb verb = http::verb::get,
               const std::string& authorization = "") {
    http::request<http::empty_body> request(verb, target, 11);
    request.set(http::field::host, "127.0.0.1");
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    http::write(socket_, request);
    return Read(verb == http::verb::head);
  }
  Response Get(const std::string& target, const std::string& authorization) {
    return Get(target, http::verb::get, authorization);
  }
  Response GetWithHeader(const std::string& target, http::field field, const std::string& value) {
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, "127.0.0.1");
    request.set(field, value);
    http::write(socket_, request);
    return Read();
  }

  Response Read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  // True when the server closed the connection (reading returns end of file).
  bool ClosedByServer() {
    std::array<char, 64> byte{};
    boost::system::error_code error;
    socket_.read_some(asio::buffer(byte), error);
    return error == asio::error::eof || error == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// One GET on a new connection, given up after `deadline`: the status, or 0 without an answer.
int StatusWithin(int port, const std::string& target, std::chrono::milliseconds deadline,
                 const std::string& authorization = "") {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(deadline);
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  beast::flat_buffer buffer;
  Response response;
  int status = 0;
  const tcp::endpoint server(asio::ip::make_address("127.0.0.1"),
                             static_cast<unsigned short>(port));
  stream.async_connect(server, [&](const boost::system::error_code& connected) {
    if (connected) return;
    http::async_write(stream, request, [&](const boost::system::error_code& sent, std::size_t) {
      if (sent) return;
      http::async_read(stream, buffer, response,
                       [&](const boost::system::error_code& read, std::size_t) {
                         if (!read) status = response.result_int();
                       });
    });
  });
  io.run();
  return status;
}

// Holds `count` connections to the server from a thread of its own, as a hostile client does:
// each says nothing, or trickles a request head one byte every 100 ms, and reconnects as soon as
// the server closes it.
class ConnectionHog {
 public:
  enum Kind { kIdle, kTrickle };
  ConnectionHog(int port, int count, Kind kind)
      : endpoint_(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
        kind_(kind),
        count_(count) {
    for (int i = 0; i < count; ++i) Connect();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ConnectionHog() {
    io_.stop();
    thread_.join();
  }
  ConnectionHog(const ConnectionHog&) = delete;
  ConnectionHog& operator=(const ConnectionHog&) = delete;

  // True once every connection was made at least once.
  bool WaitConnected(std::chrono::seconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (connected_ < count_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return connected_ >= count_;
  }
  std::size_t reconnects() const { return reconnects_; }

 private:
  struct Attempt {
    explicit Attempt(asio::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    asio::steady_timer timer;
    std::array<char, 256> sink{};
    std::size_t sent = 0;
  };

  void Connect() {
    auto attempt = std::make_shared<Attempt>(io_);
    attempt->socket.async_connect(endpoint_, [this, attempt](const boost::system::error_code& e) {
      if (e) return Reconnect(attempt);
      ++connected_;
      Drain(attempt);
      if (kind_ == kTrickle) Trickle(attempt);
    });
  }

  // Reading tells when the server closed the connection.
  void Drain(const std::shared_ptr<Attempt>& attempt) {
    attempt->socket.async_read_some(
        asio::buffer(attempt->sink),
        [this, attempt](const boost::system::error_code& e, std::size_t) {
          if (e) return Reconnect(attempt);
          Drain(attempt);
        });
  }

  void Trickle(const std::shared_ptr<Attempt>& attempt) {
    static constexpr std::string_view kHead = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    const char next = attempt->sent < kHead.size() ? kHead[attempt->sent] : 'a';
    ++attempt->sent;
    boost::system::error_code ignored;
    attempt->socket.write_some(asio::buffer(&next, 1), ignored);
    attempt->timer.expires_after(std::chrono::milliseconds(100));
    attempt->timer.async_wait([this, attempt](const boost::system::error_code& e) {
      if (!e && attempt->socket.is_open()) Trickle(attempt);
    });
  }

  void Reconnect(const std::shared_ptr<Attempt>& attempt) {
    boost::system::error_code ignored;
    attempt->socket.close(ignored);
    attempt->timer.cancel();
    ++reconnects_;
    auto pause = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(10));
    pause->async_wait([this, pause](const boost::system::error_code&) { Connect(); });
  }

  asio::io_context io_;
  const tcp::endpoint endpoint_;
  const Kind kind_;
  const int count_;
  std::atomic<int> connected_{0};
  std::atomic<std::size_t> reconnects_{0};
  std::thread thread_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<HttpServer> Start(std::map<std::string, HttpHandler> routes,
                                    const HttpLimits& limits = {},
                                    const std::string& address = "127.0.0.1:0",
                                    const WebConfig& web = {}) {
    Result<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(address, std::move(routes), log_, web, limits);
    EXPECT_TRUE(server.ok()) << server.error();
    if (!server.ok()) return nullptr;
    port_ = server.value()->ports().at(0);
    return std::move(server).value();
  }

  std::ostringstream log_text_;
  Logger log_{log_text_, LogLevel::kInfo, LogFormat::kLogfmt};
  int port_ = 0;
};

// Decompresses one whole gzip member, as a scraper does; "" if the data is not exactly that.
std::string Gunzip(const std::string& data) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + 15) != Z_OK) return "";
  std::string out(data.size() * 20 + 1024, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const bool whole = inflate(&stream, Z_FINISH) == Z_STREAM_END && stream.avail_in == 0;
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return whole ? out : "";
}

// The exposition without the process_* samples, which are read anew on every scrape.
std::string WithoutProcessSamples(const std::string& exposition) {
  std::istringstream lines(exposition);
  std::string kept;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("process_")) kept += line + "\n";
  }
  return kept;
}

TEST(AcceptsGzipTest, ReadsTheAcceptEncodingHeader) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, GZIP;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("gzip ; q=1.0"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0.000, *"));  // an explicit refusal wins over "*"
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=high"));  // unreadable: no compression
  EXPECT_FALSE(AcceptsGzip("gzipped"));
}

TEST(ListenAddressTest, ParsesPrometheusStyleAddresses) {
  EXPECT_EQ(ParseListenAddress(":9477").value().host, "");
  EXPECT_EQ(ParseListenAddress(":9477").value().port, 9477);
  EXPECT_EQ(ParseListenAddress("127.0.0.1:0").value().host, "127.0.0.1");
  EXPECT_EQ(ParseListenAddress("[::1]:9477").value().host, "::1");
  EXPECT_EQ(ParseListenAddress("localhost:80").value().host, "localhost");
}

TEST(ListenAddressTest, RefusesWhatIsNotHostAndPort) {
  EXPECT_NE(ParseListenAddress("9477").error().find("expected host:port or :port"),
            std::string::npos);
  EXPECT_NE(ParseListenAddress(":65536").error().find("invalid port"), std::string::npos);
  EXPECT_NE(ParseListenAddress(":http").error().find("invalid port"), std::string::npos);
  EXPECT_NE(ParseListenAddress("::1:9477").error().find("in brackets"), std::string::npos);
}

TEST_F(HttpServerTest, RoutesByExactPathIgnoringTheQuery) {
  auto server =
      Start({{"/metrics", [](const HttpRequest& r) { return Text(r.method + " " + r.path); }}});
  Client client(port_);
  const Response found = client.Get("/metrics?debug=1");
  EXPECT_EQ(found.result_int(), 200);
  EXPECT_EQ(found.body(), "GET /metrics");
  EXPECT_EQ(found[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(client.Get("/metrics/").result_int(), 404);
  EXPECT_EQ(client.Get("/other").result_int(), 404);
}

TEST_F(HttpServerTest, AHandlerThatThrowsGets500AndTheServerGoesOn) {
  auto server = Start(
      {{"/boom", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("kaput"); }},
       {"/ok", [](const HttpRequest&) { return Text("fine"); }}});
  Client client(port_);
  EXPECT_EQ(client.Get("/boom").result_int(), 500);
  EXPECT_EQ(client.Get("/ok").body(), "fine");
  EXPECT_NE(log_text_.str().find("kaput"), std::string::npos);
}

TEST_F(HttpServerTest, HeadSendsTheLengthOfTheBodyButNotTheBody) {
  auto server = Start({{"/metrics", [](const HttpRequest&) { return Text("twelve bytes"); }}});
  Client client(port_);
  const Response head = client.Get("/metrics", http::verb::head);
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_length], "12");
  // The connection is still in step: the next response is read whole.
  EXPECT_EQ(client.Get("/metrics").body(), "twelve bytes");
}

TEST_F(HttpServerTest, KeepsTheConnectionAliveAndClosesWhenAsked) {
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}});
  Client client(port_);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.Get("/").body(), "hi");
  client.Send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(client.Read().body(), "hi");
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, OversizedHeadersGet431AndBodies413) {
  HttpLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_body_bytes = 100;
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}}, limits);
  Client headers(port_);
  headers.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  EXPECT_EQ(headers.Read().result_int(), 431);
  Client body(port_);
  body.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'b'));
  EXPECT_EQ(body.Read().result_int(), 413);
  Client fits(port_);
  fits.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b'));
  EXPECT_EQ(fits.Read().result_int(), 200);
}

TEST_F(HttpServerTest, MalformedRequestsGet400) {
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}});
  Client client(port_);
  client.Send("GET / HTTP/1.1\r\nHost x\r\n\r\n");
  EXPECT_EQ(client.Read().result_int(), 400);
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapAreClosedWhenEveryOneIsBusy) {
  HttpLimits limits;
  limits.max_connections = 2;
  std::promise<void> released;
  std::shared_future<void> release = released.get_future().share();
  std::atomic<int> waiting{0};
  auto server = Start({{"/slow",
                        [release, &waiting](const HttpRequest&) {
                          ++waiting;
                          release.wait_for(std::chrono::seconds(10));
                          return Text("done");
                        }},
                       {"/", [](const HttpRequest&) { return Text("hi"); }}},
                      limits);
  auto busy = [this] { return Client(port_).Get("/slow").body(); };
  auto first = std::async(std::launch::async, busy);
  auto second = std::async(std::launch::async, busy);
  while (waiting < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Client third(port_);
  third.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(third.ClosedByServer());  // with no answer
  released.set_value();
  EXPECT_EQ(first.get(), "done");
  EXPECT_EQ(second.get(), "done");
  // The server notices the closes on its own schedule; retry briefly.
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    served = StatusWithin(port_, "/", std::chrono::seconds(1)) == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

TEST_F(HttpServerTest, AFullServerEvictsTheOldestIdleKeptAliveConnection) {
  HttpLimits limits;
  limits.max_connections = 2;
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}}, limits);
  // The server turns a connection idle once it has seen its response written, a little after
  // the client read it: the pauses keep the order of the two clear.
  Client oldest(port_);
  EXPECT_EQ(oldest.Get("/").body(), "hi");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Client newer(port_);
  EXPECT_EQ(newer.Get("/").body(), "hi");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(StatusWithin(port_, "/", std::chrono::seconds(2)), 200);
  EXPECT_TRUE(oldest.ClosedByServer());
  EXPECT_EQ(newer.Get("/").body(), "hi");
}

TEST_F(HttpServerTest, ClientsThatNeverSentARequestAreEvictedBeforeKeptAliveOnes) {
  HttpLimits limits;
  limits.max_connections = 4;
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}}, limits);
  Client scraper(port_);
  EXPECT_EQ(scraper.Get("/").body(), "hi");
  ConnectionHog hog(port_, 20, ConnectionHog::kIdle);
  ASSERT_TRUE(hog.WaitConnected(std::chrono::seconds(5)));
  for (int scrape = 0; scrape < 5; ++scrape) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(scraper.Get("/").body(), "hi");
  }
}

TEST_F(HttpServerTest, RequestHeadsHaveTheirOwnShortTimeout) {
  HttpLimits limits;
  limits.header_timeout = std::chrono::milliseconds(200);
  limits.timeout = std::chrono::seconds(30);
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}}, limits);
  const auto start = std::chrono::steady_clock::now();
  Client slow(port_);
  slow.Send("GET / HTTP/1.1\r\nHo");  // never finishes its head
  EXPECT_TRUE(slow.ClosedByServer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(HttpServerTest, ABodyHasTheLongerTimeoutOnceTheHeadIsIn) {
  HttpLimits limits;
  limits.header_timeout = std::chrono::milliseconds(200);
  limits.timeout = std::chrono::seconds(5);
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}}, limits);
  Client client(port_);
  client.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  client.Send("body");
  EXPECT_EQ(client.Read().body(), "hi");
}

// The scraper gets every one of its scrapes while clients that connect and say nothing, or
// trickle a request head (slowloris), try to hold every slot, reconnecting as soon as closed.
TEST_F(HttpServerTest, ScrapesGoOnWhileHundredsOfIdleAndTricklingConnectionsAreHeld) {
  auto server = Start({{"/metrics", [](const HttpRequest&) { return Text("up 1\n"); }}});
  ConnectionHog idle(port_, 100, ConnectionHog::kIdle);
  ConnectionHog trickling(port_, 100, ConnectionHog::kTrickle);
  ASSERT_TRUE(idle.WaitConnected(std::chrono::seconds(10)));
  ASSERT_TRUE(trickling.WaitConnected(std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server has taken them all
  int served = 0;
  for (int scrape = 0; scrape < 20; ++scrape) {
    served += StatusWithin(port_, "/metrics", std::chrono::seconds(2)) == 200 ? 1 : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(served, 20);
  EXPECT_GT(idle.reconnects() + trickling.reconnects(), 0U);  // the cap was reached
}

TEST_F(HttpServerTest, IdleAndSlowClientsAreDisconnectedAfterTheTimeout) {
  HttpLimits limits;
  limits.header_timeout = std::chrono::milliseconds(200);
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}}, limits);
  Client idle(port_);
  EXPECT_TRUE(idle.ClosedByServer());  // blocks until the server gives up
  Client slow(port_);
  slow.Send("GET / HTTP/1.1\r\nHo");  // never finishes its headers
  EXPECT_TRUE(slow.ClosedByServer());
}

TEST_F(HttpServerTest, PasswordChecksBeyondTheBurstGet429AndVerifiedCredentialsStillPass) {
  HttpLimits limits;
  limits.auth_burst = 2;
  limits.auth_refill = std::chrono::seconds(60);
  WebConfig web;
  web.basic_auth_users = {{"prometheus", BcryptHash("right-pass", 4)}};
  auto server = Start({{"/metrics", [](const HttpRequest&) { return Text("up 1\n"); }},
                       {"/-/healthy", [](const HttpRequest&) { return Text("Healthy\n"); }}},
                      limits, "127.0.0.1:0", web);
  const std::string right = BasicAuthorization("prometheus", "right-pass");
  Client client(port_);
  EXPECT_EQ(client.Get("/metrics", right).result_int(), 200);  // a check: one token left
  EXPECT_EQ(client.Get("/metrics", BasicAuthorization("prometheus", "wrong")).result_int(), 401);
  const Response throttled = client.Get("/metrics", BasicAuthorization("prometheus", "wrong"));
  EXPECT_EQ(throttled.result_int(), 429);
  EXPECT_EQ(throttled[http::field::retry_after], "60");
  EXPECT_EQ(client.Get("/metrics", BasicAuthorization("nobody", "x")).result_int(), 429);
  EXPECT_EQ(client.Get("/metrics", right).result_int(), 200);  // remembered: no check needed
  EXPECT_EQ(client.Get("/-/healthy").result_int(), 200);       // needs no check at all
}

// Eight clients sending wrong passwords (bcrypt cost 12, a quarter of a second each) must not
// slow down a scraper whose credentials verified before.
TEST_F(HttpServerTest, AFloodOfWrongPasswordsDoesNotSlowAVerifiedScraper) {
  WebConfig web;
  web.basic_auth_users = {{"prometheus", BcryptHash("right-pass", 12)}};
  auto server = Start({{"/metrics", [](const HttpRequest&) { return Text("up 1\n"); }}}, {},
                      "127.0.0.1:0", web);
  const std::string right = BasicAuthorization("prometheus", "right-pass");
  ASSERT_EQ(StatusWithin(port_, "/metrics", std::chrono::seconds(30), right), 200);
  const auto median_scrape = [&] {
    std::vector<double> milliseconds;
    for (int scrape = 0; scrape < 15; ++scrape) {
      const auto start = std::chrono::steady_clock::now();
      EXPECT_EQ(StatusWithin(port_, "/metrics", std::chrono::seconds(30), right), 200);
      milliseconds.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::nth_element(milliseconds.begin(), milliseconds.begin() + 7, milliseconds.end());
    return milliseconds[7];
  };
  const double quiet = median_scrape();
  std::atomic<bool> stop{false};
  std::vector<std::thread> flood;
  for (int i = 0; i < 8; ++i) {
    flood.emplace_back([&, i] {
      const std::string wrong = BasicAuthorization("prometheus", "wrong-" + std::to_string(i));
      while (!stop) {
        try {
          Client attacker(port_);
          while (!stop) {
            attacker.Get("/metrics", wrong);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        } catch (const boost::system::system_error&) {
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double flooded = median_scrape();
  stop = true;
  for (std::thread& attacker : flood) attacker.join();
  RecordProperty("quiet_median_ms", std::to_string(quiet));
  RecordProperty("flooded_median_ms", std::to_string(flooded));
  std::cout << "median scrape: " << quiet << " ms quiet, " << flooded << " ms flooded\n";
  EXPECT_LT(flooded, 200.0);
}

TEST_F(HttpServerTest, HandlersRunConcurrently) {
  // /slow waits for /release; on a single-threaded server they would never meet.
  std::promise<void> released;
  std::shared_future<void> release = released.get_future().share();
  auto server =
      Start({{"/slow",
              [release](const HttpRequest&) {
                return Text(release.wait_for(std::chrono::seconds(10)) == std::future_status::ready
                                ? "released"
                                : "waited in vain");
              }},
             {"/release", [&released](const HttpRequest&) {
                released.set_value();
                return Text("ok");
              }}});
  auto slow = std::async(std::launch::async, [this] { return Client(port_).Get("/slow").body(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Client(port_).Get("/release").body(), "ok");
  EXPECT_EQ(slow.get(), "released");
}

TEST_F(HttpServerTest, StoppingClosesOpenConnections) {
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}});
  Client client(port_);
  EXPECT_EQ(client.Get("/").body(), "hi");
  server.reset();
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, ServesIpv6Loopback) {
  boost::system::error_code error;
  asio::io_context io;
  tcp::socket probe(io);
  probe.open(tcp::v6(), error);
  if (!error) probe.bind(tcp::endpoint(asio::ip::make_address("::1"), 0), error);
  if (error) GTEST_SKIP() << "no IPv6 loopback here: " << error.message();
  auto server =
      Start({{"/", [](const HttpRequest& r) { return Text(r.remote_address); }}}, {}, "[::1]:0");
  EXPECT_EQ(Client(port_, "::1").Get("/").body(), "::1");
}

TEST_F(HttpServerTest, ReconfigureAppliesToTheNextRequestAndABadConfigChangesNothing) {
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}});
  Client client(port_);
  EXPECT_EQ(client.Get("/").result_int(), 200);
  WebConfig with_auth;
  // bcrypt (cost 4) of "pw": a test fixture.
  with_auth.basic_auth_users = {
      {"u", "$2b$04$0lEzJq/hz1XeL5C6zPmBLeA2Y6powNCCcxsuWZPG6m70Ug8.bqCve"}};
  ASSERT_TRUE(server->Reconfigure(with_auth).ok());
  EXPECT_EQ(client.Get("/").result_int(), 401);  // the same connection, the next request
  WebConfig broken;
  broken.cert_file = "/nonexistent/server.crt";
  broken.key_file = "/nonexistent/server.key";
  const Status refused = server->Reconfigure(broken);
  EXPECT_NE(refused.message().find("tls_server_config.cert_file \"/nonexistent/server.crt\""),
            std::string::npos)
      << refused.message();
  EXPECT_EQ(Client(port_).Get("/").result_int(), 401);  // still plain HTTP, still with auth
}

// The sidecar's own /metrics route, with endpoint collectors that all export model_endpoint_up.
TEST_F(HttpServerTest, MetricsAreGzippedWhenTheScraperAcceptsItAndReadTheSameOnceDecompressed) {
  auto model = Start({{"/health", [](const HttpRequest&) { return Text("{}"); }}});
  ASSERT_TRUE(model);
  Config config;
  for (int i = 0; i < 3; ++i) {
    EndpointConfig endpoint;
    endpoint.name = "model-" + std::to_string(i);
    endpoint.url = "http://127.0.0.1:" + std::to_string(port_) + "/health";
    endpoint.interval = std::chrono::hours(1);  // no new cycle between the scrapes
    config.endpoints.push_back(endpoint);
  }
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread io_thread([&] { RunEventLoop(io, log_); });
  AppOptions options;
  options.listen_address = "127.0.0.1:0";
  auto app = std::make_unique<App>(options, BuildInfo{"test", "abc"}, log_, io);
  ASSERT_TRUE(app->Start(config).ok());
  const int port = app->http()->ports().at(0);
  for (int i = 0; i < 100 && StatusWithin(port, "/-/ready", std::chrono::seconds(1)) != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Client client(port);
  const Response plain = client.Get("/metrics");
  const Response gzip =
      client.GetWithHeader("/metrics", http::field::accept_encoding, "deflate, gzip;q=0.8");
  const Response refused =
      client.GetWithHeader("/metrics", http::field::accept_encoding, "gzip;q=0, *");
  asio::post(io, [&] { app.reset(); });
  work.reset();
  io_thread.join();

  EXPECT_EQ(plain[http::field::content_encoding], "");
  EXPECT_EQ(plain[http::field::vary], "Accept-Encoding");
  EXPECT_EQ(gzip[http::field::content_encoding], "gzip");
  EXPECT_EQ(gzip[http::field::vary], "Accept-Encoding");
  EXPECT_EQ(refused[http::field::content_encoding], "");
  const std::string decompressed = Gunzip(gzip.body());
  EXPECT_EQ(WithoutProcessSamples(decompressed), WithoutProcessSamples(plain.body()));
  EXPECT_NE(plain.body().find("model_endpoint_up{endpoint=\"model-2\"} 1"), std::string::npos);
  std::size_t types = 0;
  for (std::size_t at = 0;
       (at = decompressed.find("# TYPE model_endpoint_up ", at)) != std::string::npos; ++at) {
    ++types;
  }
  EXPECT_EQ(types, 1u);
}

TEST_F(HttpServerTest, APortInUseIsAClearError) {
  auto server = Start({{"/", [](const HttpRequest&) { return Text("hi"); }}});
  const std::string address = "127.0.0.1:" + std::to_string(port_);
  Result<std::unique_ptr<HttpServer>> second = HttpServer::Start(address, {}, log_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(), "cannot listen on " + address + ": Address already in use");
}

}  // namespace
}  // namespace outcomes
