#include <catch2/catch.hpp>
#include <vector>

#include "engine/core/timer_wheel.hpp"

using ringload::TimerWheel;

namespace {
constexpr uint64_t ms = 1'000'000;

std::vector<uint32_t> expire(TimerWheel& w, uint64_t now) {
  std::vector<uint32_t> fired;
  w.expire(now, [&](uint32_t id) { fired.push_back(id); });
  return fired;
}
}  // namespace

TEST_CASE("timers fire once, at or after their deadline", "[timer]") {
  TimerWheel w;
  w.init(8, 1000 * ms);
  w.arm(0, 1005 * ms);
  w.arm(1, 1002 * ms);
  w.arm(2, 1002 * ms + 1);
  CHECK(expire(w, 1001 * ms).empty());
  CHECK(expire(w, 1002 * ms) == std::vector<uint32_t>{1});
  CHECK(expire(w, 1003 * ms) == std::vector<uint32_t>{2});
  CHECK(w.size() == 1);
  CHECK(expire(w, 1010 * ms) == std::vector<uint32_t>{0});
  CHECK(w.size() == 0);
  CHECK(expire(w, 1020 * ms).empty());
}

TEST_CASE("cancel and re-arm move a timer", "[timer]") {
  TimerWheel w;
  w.init(4, 0);
  w.arm(1, 5 * ms);
  w.cancel(1);
  CHECK_FALSE(w.armed(1));
  CHECK(expire(w, 10 * ms).empty());
  w.arm(2, 20 * ms);
  w.arm(2, 30 * ms);  // re-arming replaces the deadline
  CHECK(expire(w, 25 * ms).empty());
  CHECK(expire(w, 30 * ms) == std::vector<uint32_t>{2});
  w.cancel(2);  // cancelling a fired timer is harmless
  CHECK(w.size() == 0);
}

TEST_CASE("deadlines beyond one revolution wait for their turn", "[timer]") {
  TimerWheel w;
  w.init(4, 0);
  const uint64_t far = (TimerWheel::slots * 3 + 7) * ms;
  w.arm(3, far);
  for (uint64_t t = 0; t < far; t += 97 * ms) CHECK(expire(w, t).empty());
  CHECK(expire(w, far) == std::vector<uint32_t>{3});
}

TEST_CASE("a long gap between expiries still fires everything due", "[timer]") {
  TimerWheel w;
  w.init(64, 0);
  for (uint32_t i = 0; i < 64; ++i) w.arm(i, (i * 37 + 1) * ms);
  auto fired = expire(w, 10'000 * ms);
  CHECK(fired.size() == 64);
  CHECK(w.size() == 0);
}

TEST_CASE("a callback may re-arm its own timer", "[timer]") {
  TimerWheel w;
  w.init(2, 0);
  w.arm(0, 1 * ms);
  int fired = 0;
  w.expire(2 * ms, [&](uint32_t id) {
    ++fired;
    w.arm(id, 50 * ms);
  });
  CHECK(fired == 1);
  CHECK(w.armed(0));
  CHECK(expire(w, 49 * ms).empty());
  CHECK(expire(w, 50 * ms) == std::vector<uint32_t>{0});
}

TEST_CASE("next_wait_ns bounds the ring's sleep", "[timer]") {
  TimerWheel w;
  w.init(2, 0);
  CHECK(w.next_wait_ns(0, 10 * ms) == 10 * ms);
  w.arm(0, 3 * ms + 500);
  CHECK(w.next_wait_ns(1 * ms, 10 * ms) == 2 * ms + 500);
  CHECK(w.next_wait_ns(4 * ms, 10 * ms) == 0);
}
