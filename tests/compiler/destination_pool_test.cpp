// Each destination text is checked once and pooled once: the same text, or
// another spelling of the same address, gets the same index.
#include "compiler/destination_pool.h"

#include <doctest/doctest.h>

namespace emailroute {

TEST_CASE("pools a destination once and finds it again by its text") {
  std::vector<ModelDestination> destinations;
  DestinationPool pool(destinations);
  DestinationPool::Checked a = pool.check("Ann@Gmail.test");
  DestinationPool::Checked b = pool.check("bob@gmail.test");
  REQUIRE(a.why == nullptr);
  REQUIRE(b.why == nullptr);
  CHECK(a.destination != b.destination);
  CHECK(pool.check("Ann@Gmail.test").destination == a.destination);
  REQUIRE(destinations.size() == 2);
  CHECK(destinations[a.destination].address == "Ann@Gmail.test");  // case kept
}

TEST_CASE("a quoted local part that is a plain one pools as the plain address") {
  std::vector<ModelDestination> destinations;
  DestinationPool pool(destinations);
  std::uint32_t plain = pool.check("ab@x.test").destination;
  DestinationPool::Checked quoted = pool.check("\"ab\"@x.test");
  REQUIRE(quoted.why == nullptr);
  CHECK(quoted.destination == plain);
  CHECK(destinations.size() == 1);
}

TEST_CASE("addresses that differ only in case are distinct but share their folded index") {
  std::vector<ModelDestination> destinations;
  DestinationPool pool(destinations);
  std::uint32_t lower = pool.check("x@mail.test").destination;
  std::uint32_t upper = pool.check("X@MAIL.test").destination;
  std::uint32_t other = pool.check("y@mail.test").destination;
  CHECK(lower != upper);
  CHECK(destinations[upper].folded == lower);
  CHECK(destinations[lower].folded == lower);
  CHECK(destinations[other].folded == other);
}

TEST_CASE("says why a destination is not valid, every time it is met") {
  std::vector<ModelDestination> destinations;
  DestinationPool pool(destinations);
  for (int i = 0; i < 2; ++i) {
    DestinationPool::Checked bad = pool.check("\"a b\"@gmail.test");
    REQUIRE(bad.why != nullptr);
    CHECK(*bad.why == "quoted local parts are not supported in destinations");
    REQUIRE(pool.check("a@[192.0.2.1]").why != nullptr);
    CHECK(*pool.check("a@[192.0.2.1]").why == "the domain must be a name, not an address literal");
    CHECK(pool.check("no-at-sign").why != nullptr);
  }
  CHECK(destinations.empty());
}

TEST_CASE("keeps every answer while its table grows") {
  std::vector<ModelDestination> destinations;
  DestinationPool pool(destinations);
  constexpr int kCount = 5000;  // several times the first table's size
  for (int i = 0; i < kCount; ++i) CHECK(pool.check("user" + std::to_string(i) + "@x.test").destination == static_cast<std::uint32_t>(i));
  for (int i = kCount; i-- > 0;) CHECK(pool.check("user" + std::to_string(i) + "@x.test").destination == static_cast<std::uint32_t>(i));
  CHECK(destinations.size() == kCount);
}

}  // namespace emailroute
