// A negative static extent (other than `dyn`) is rejected at compile time.
// EXPECT: sanawm: an extent is a non-negative size or `dyn`
#include "sanawm/core/shape.hpp"

int main() {
  sanawm::extents<4, -3> e;
  return static_cast<int>(e.size());
}
