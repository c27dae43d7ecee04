// A consumer of sanawm's headers: a view with static and dynamic axes and a parallel_for on the CPU backend.
#include <cstdio>
#include <vector>

#include "sanawm/backend/cpu/parallel.hpp"
#include "sanawm/core/tensor.hpp"
#include "sanawm/version.hpp"

struct scale_row {
  sanawm::tensor_view<float, sanawm::extents<sanawm::dyn, 4>> x;
  void operator()(sanawm::index_t i) const {
    for (sanawm::index_t j = 0; j < 4; ++j) x(i, j) *= 2.0f;
  }
};

int main() {
  sanawm::tensor<float, sanawm::extents<sanawm::dyn, 4>> t(3);
  t.fill(1.5f);
  sanawm::parallel_for(sanawm::cpu_t{}, 3, scale_row{t.view()});
  for (float v : t)
    if (v != 3.0f) return 1;
  std::printf("sanawm consumer ok (sanawm %d.%d.%d)\n", sanawm::version.major, sanawm::version.minor,
              sanawm::version.patch);
  return 0;
}
