#include "exporter/http/basic_auth.h"

#include <gtest/gtest.h>

namespace outcomes {
namespace {

// bcrypt (cost 4) of "s3cret-test-pass": a test fixture, not a secret.
constexpr const char* kHash = "$2b$04$drAsDfKCDO.BE9Q.irktV.8KVHptK.T1tV656EEEaAlp.mzVVuQXi";
// base64("prometheus:s3cret-test-pass"), base64("prometheus:wrong"),
// base64("nobody:s3cret-test-pass")
constexpr const char* kRight = "Basic cHJvbWV0aGV1czpzM2NyZXQtdGVzdC1wYXNz";
constexpr const char* kWrong = "Basic cHJvbWV0aGV1czp3cm9uZw==";
constexpr const char* kUnknownUser = "Basic bm9ib2R5OnMzY3JldC10ZXN0LXBhc3M=";

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
