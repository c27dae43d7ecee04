// SPDX-License-Identifier: Apache-2.0
// tests/cuda/view_layout_kernels.cu — kernels whose by-value parameters are structs of sanawm views, compiled to
// PTX by the `cuda.view_layout_ptx` test (view_layout_ptx.cmake), which checks that the device code reads each
// member at the offset the host compiler gives it (static_asserts below) and that the parameter has the host's
// size. nvcc 13.0 mislaid members that follow an empty [[no_unique_address]] member (a static-extent view's
// mapping): the kernel read a pointer 8 bytes too far and hit an illegal address on the H200 (the old
// LaunchOn/1.RowBodyStaticColumns failure). Needs no GPU.
#include <cstddef>

#include "sanawm/core/tensor.hpp"

namespace probe {
using namespace sanawm;

// A row body with static columns (launch_test's center_scale_rows<extents<dyn, 64>>).
struct static_columns {
  tensor_view<const float, extents<dyn, 64>> x;
  tensor_view<const float, extents<64>> w;  // all-static: its mapping is empty
  tensor_view<float, extents<dyn, 64>> y;
};
static_assert(sizeof(static_columns) == 40 && offsetof(static_columns, w) == 16 && offsetof(static_columns, y) == 24);

// Two all-static views back to back (launch_test's weighted_sum_2d).
struct all_static {
  tensor_view<const float, extents<4, 8, 16>> x;
  tensor_view<float, extents<4, 8>> out;
};
static_assert(sizeof(all_static) == 16 && offsetof(all_static, out) == 8);

// A strided all-static view followed by a pointer.
struct strided_static {
  tensor_view<float, extents<4, 4>, layout_stride> a;
  float* p;
};
static_assert(sizeof(strided_static) == 40 && offsetof(strided_static, p) == 32);

}  // namespace probe

extern "C" __global__ void sanawm_probe_static_columns(probe::static_columns b, float* out) {
  out[0] = b.y.data()[0] + b.w.data()[0];
}
extern "C" __global__ void sanawm_probe_all_static(probe::all_static b, float* out) { out[0] = b.out.data()[0]; }
extern "C" __global__ void sanawm_probe_strided_static(probe::strided_static b, float* out) { out[0] = b.p[0]; }
