// AbCustomerState, the A/B collector's per-customer memory: it holds what it is given, forgets
// a test, and past its capacity evicts the least recently seen customers in one batch, down to
// nine tenths of the capacity, after which it is no longer complete.
#include "exporter/collectors/ab_customer_state.h"

#include <gtest/gtest.h>

namespace outcomes {
namespace {

AbCustomerKey Key(const std::string& customer, const std::string& test = "t1") {
  return {test, "A", customer};
}

TEST(AbCustomerStateTest, HoldsAndReplacesCustomers) {
  AbCustomerState state(10);
  state.Put(Key("c1"), {500, 1, false});
  state.Put(Key("c1"), {700, 2, true});
  ASSERT_NE(state.Find(Key("c1")), nullptr);
  EXPECT_EQ(state.Find(Key("c1"))->revenue_cents, 700);
  EXPECT_TRUE(state.Find(Key("c1"))->converted);
  EXPECT_EQ(state.Find(Key("c1", "t2")), nullptr);
  EXPECT_EQ(state.size(), 1);
  EXPECT_TRUE(state.complete());
}

TEST(AbCustomerStateTest, DropTestForgetsOnlyThatTest) {
  AbCustomerState state(10);
  state.Put(Key("c1", "t1"), {});
  state.Put(Key("c2", "t1"), {});
  state.Put(Key("c1", "t2"), {});
  state.DropTest("t1");
  EXPECT_EQ(state.size(), 1);
  EXPECT_EQ(state.Find(Key("c1", "t1")), nullptr);
  EXPECT_NE(state.Find(Key("c1", "t2")), nullptr);
}

TEST(AbCustomerStateTest, WithinTheCapacityNothingIsEvicted) {
  AbCustomerState state(3);
  for (int i = 0; i < 3; ++i) state.Put(Key("c" + std::to_string(i)), {0, i, false});
  EXPECT_EQ(state.Evict(), 0);
  EXPECT_TRUE(state.complete());
}

TEST(AbCustomerStateTest, PastTheCapacityTheLeastRecentlySeenGoDownToNineTenths) {
  AbCustomerState state(20);
  // 24 customers seen at 0..23 across two tests, and one more seen at 6, where the cut falls:
  // of the two seen then, exactly one goes.
  for (int i = 0; i < 24; ++i) {
    state.Put(Key("c" + std::to_string(i), i % 2 == 0 ? "t1" : "t2"), {0, i, false});
  }
  state.Put(Key("tie"), {0, 6, false});
  EXPECT_EQ(state.Evict(), 7);  // 25 down to 18
  EXPECT_EQ(state.size(), 18);
  EXPECT_FALSE(state.complete());
  EXPECT_EQ(state.Find(Key("c5", "t2")), nullptr);
  EXPECT_EQ((state.Find(Key("c6")) == nullptr) + (state.Find(Key("tie")) == nullptr), 1);
  EXPECT_NE(state.Find(Key("c7", "t2")), nullptr);
  EXPECT_NE(state.Find(Key("c23", "t2")), nullptr);
}

TEST(AbCustomerStateTest, CapacityZeroHoldsNoCustomer) {
  AbCustomerState state(0);
  state.Put(Key("c1"), {0, 5, false});
  state.Put(Key("c2"), {0, 5, false});
  EXPECT_EQ(state.Evict(), 2);
  EXPECT_EQ(state.size(), 0);
  EXPECT_FALSE(state.complete());
}

}  // namespace
}  // namespace outcomes
