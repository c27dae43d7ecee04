// A kernel body that owns a container is not trivially copyable and cannot be launched.
// EXPECT: kernel_body
#include <vector>

#include "sanawm/backend/cpu/parallel.hpp"

int main() {
  std::vector<float> v(8);
  sanawm::parallel_for(sanawm::cpu_t{}, 8, [v](sanawm::index_t i) { (void)v[static_cast<std::size_t>(i)]; });
}
