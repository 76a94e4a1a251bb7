#include "exporter/http/basic_auth.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "tests/lib/credentials.h"

namespace outcomes {
namespace {

// bcrypt (cost 4) of "s3cret-test-pass": a test fixture, not a secret.
constexpr const char* kHash = "$2b$04$drAsDfKCDO.BE9Q.irktV.8KVHptK.T1tV656EEEaAlp.mzVVuQXi";
// base64("prometheus:s3cret-test-pass"), base64("prometheus:wrong"),
// base64("nobody:s3cret-test-pass")
constexpr const char* kRight = "Basic cHJvbWV0aGV1czpzM2NyZXQtdGVzdC1wYXNz";
constexpr const char* kWrong = "Basic cHJvbWV0aGV1czp3cm9uZw==";
constexpr const char* kUnknownUser = "Basic bm9ib2R5OnMzY3JldC10ZXN0LXBhc3M=";

using test_support::Base64;
using test_support::BcryptHash;

TEST(BasicAuthTest, AcceptsTheRightPasswordTwice) {
  BasicAuth auth(std::vector<std::pair<std::string, std::string>>{{"prometheus", kHash}});
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.Allows(kRight));
  EXPECT_TRUE(auth.Allows(kRight));  // from the cache of verified credentials
}

TEST(BasicAuthTest, RefusesWrongOrMissingCredentials) {
  BasicAuth auth(std::vector<std::pair<std::string, std::string>>{{"prometheus", kHash}});
  EXPECT_FALSE(auth.Allows(kWrong));
  EXPECT_FALSE(auth.Allows(kUnknownUser));
  EXPECT_FALSE(auth.Allows(nullptr));
  EXPECT_FALSE(auth.Allows("Bearer abc"));
  EXPECT_FALSE(auth.Allows("Basic !!!"));
  EXPECT_FALSE(auth.Allows("Basic cHJvbWV0aGV1cw=="));  // "prometheus", no colon
}

TEST(BasicAuthTest, TheSchemeNameIsCaseInsensitive) {
  BasicAuth auth(std::vector<std::pair<std::string, std::string>>{{"prometheus", kHash}});
  EXPECT_TRUE(auth.Allows("basic cHJvbWV0aGV1czpzM2NyZXQtdGVzdC1wYXNz"));
  EXPECT_TRUE(auth.Allows("BASIC cHJvbWV0aGV1czpzM2NyZXQtdGVzdC1wYXNz"));
}

TEST(BasicAuthTest, RefusesTheRightPasswordFollowedByANulAndMore) {
  BasicAuth auth(std::vector<std::pair<std::string, std::string>>{{"prometheus", kHash}});
  const std::string credentials = std::string("prometheus:s3cret-test-pass") + '\0' + "junk";
  EXPECT_FALSE(auth.Allows(("Basic " + Base64(credentials)).c_str()));
  EXPECT_TRUE(auth.Allows(kRight));
}

TEST(BasicAuthTest, CredentialsThatVerifiedOnceNeedNoBcryptAgain) {
  BasicAuth auth(std::vector<std::pair<std::string, std::string>>{{"prometheus", kHash}});
  BasicAuth::Credentials right;
  ASSERT_EQ(auth.Check(kRight, right), BasicAuth::Precheck::kNeedsBcrypt);
  EXPECT_TRUE(auth.Verify(right));
  BasicAuth::Credentials again;
  EXPECT_EQ(auth.Check(kRight, again), BasicAuth::Precheck::kAllowed);  // no bcrypt this time
  BasicAuth::Credentials wrong;
  EXPECT_EQ(auth.Check(kWrong, wrong), BasicAuth::Precheck::kNeedsBcrypt);
}

// A known user with a wrong password and an unknown user cost the same bcrypt, the one of the
// highest cost configured, so that timing does not tell which users exist.
TEST(BasicAuthTest, AnUnknownUserCostsWhatTheSlowestKnownUserCosts) {
  const std::string slow = BcryptHash("another-pass", 10);
  BasicAuth auth(
      std::vector<std::pair<std::string, std::string>>{{"prometheus", kHash}, {"slow", slow}});
  // The fastest of three runs: a busy machine only ever adds time.
  const auto seconds = [&auth](const std::string& credentials) {
    const std::string header = "Basic " + Base64(credentials);
    double fastest = 1e9;
    for (int run = 0; run < 3; ++run) {
      const auto start = std::chrono::steady_clock::now();
      EXPECT_FALSE(auth.Allows(header.c_str()));
      fastest = std::min(
          fastest, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return fastest;
  };
  const double known = seconds("slow:wrong");
  const double unknown = seconds("nobody:wrong");
  // Cost 10 is 64 times cost 4: a third is far from either.
  EXPECT_GT(unknown, known / 3) << "unknown " << unknown << " s, known " << known << " s";
}

TEST(PasswordCheckLimiterTest, AllowsABurstThenOnePerRefill) {
  PasswordCheckLimiter limiter(3, std::chrono::seconds(1), 100);
  const auto start = PasswordCheckLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.TryTake("10.0.0.1", start)) << i;
  EXPECT_FALSE(limiter.TryTake("10.0.0.1", start));
  EXPECT_FALSE(limiter.TryTake("10.0.0.1", start + std::chrono::milliseconds(900)));
  EXPECT_TRUE(limiter.TryTake("10.0.0.1", start + std::chrono::milliseconds(1000)));
  EXPECT_FALSE(limiter.TryTake("10.0.0.1", start + std::chrono::milliseconds(1000)));
}

TEST(PasswordCheckLimiterTest, EachClientAddressHasItsOwnBucket) {
  PasswordCheckLimiter limiter(1, std::chrono::seconds(60), 100);
  const auto now = PasswordCheckLimiter::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(limiter.TryTake("10.0.0.1", now));
  EXPECT_FALSE(limiter.TryTake("10.0.0.1", now));
  EXPECT_TRUE(limiter.TryTake("10.0.0.2", now));
}

TEST(PasswordCheckLimiterTest, AddressesBeyondTheTableShareOneBucket) {
  PasswordCheckLimiter limiter(1, std::chrono::seconds(60), 2);
  const auto now = PasswordCheckLimiter::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(limiter.TryTake("10.0.0.1", now));
  EXPECT_TRUE(limiter.TryTake("10.0.0.2", now));
  EXPECT_TRUE(limiter.TryTake("10.0.0.3", now));   // the shared bucket's token
  EXPECT_FALSE(limiter.TryTake("10.0.0.4", now));  // shared, now empty
  // Once refilled, the table makes room again.
  EXPECT_TRUE(limiter.TryTake("10.0.0.5", now + std::chrono::seconds(60)));
}

TEST(ClientKeyTest, AnIpv6HostIsLimitedByItsSlash64) {
  EXPECT_EQ(ClientKey("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(ClientKey("::ffff:10.1.2.3"), "10.1.2.3");  // dual-stack sockets
  EXPECT_EQ(ClientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientKey("2001:db8:1:2:bbbb::9"), ClientKey("2001:db8:1:2:aaaa::1"));
  EXPECT_NE(ClientKey("2001:db8:1:3::1"), ClientKey("2001:db8:1:2::1"));
  EXPECT_EQ(ClientKey("unknown"), "unknown");
}

TEST(PasswordCheckPoolTest, RefusesJobsBeyondItsBound) {
  PasswordCheckPool pool(1, 2);
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(pool.TrySubmit([&started, released] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  std::atomic<bool> second_ran{false};
  EXPECT_TRUE(pool.TrySubmit([&second_ran] { second_ran = true; }));  // waits
  EXPECT_FALSE(pool.TrySubmit([] {}));                                // one too many
  release.set_value();
  for (int i = 0; i < 200 && !second_ran; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(second_ran);
}

TEST(BasicAuthTest, DisabledWithoutUsers) { EXPECT_FALSE(BasicAuth({}).enabled()); }

TEST(Base64Test, DecodesStandardPadding) {
  std::string out;
  EXPECT_TRUE(DecodeBase64("YWJj", out));
  EXPECT_EQ(out, "abc");
  EXPECT_TRUE(DecodeBase64("YWI=", out));
  EXPECT_EQ(out, "ab");
  EXPECT_TRUE(DecodeBase64("YQ==", out));
  EXPECT_EQ(out, "a");
  EXPECT_FALSE(DecodeBase64("YQ", out));
  EXPECT_FALSE(DecodeBase64("Y=Q=", out));
}

}  // namespace
}  // namespace outcomes
