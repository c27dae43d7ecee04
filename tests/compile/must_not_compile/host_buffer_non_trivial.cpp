// A host_buffer of a type with a destructor is rejected: kernels memcpy and poison elements.
// EXPECT: sanawm: host_buffer holds trivially copyable elements only
#include <string>

#include "sanawm/core/buffer.hpp"

int main() {
  sanawm::host_buffer<std::string> b(4);
  return static_cast<int>(b.size());
}
