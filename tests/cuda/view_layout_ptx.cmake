# SPDX-License-Identifier: Apache-2.0
# ctest script: compiles view_layout_kernels.cu to PTX and checks, per probe kernel, the parameter size and the
# offset the device code loads the last member from against the host layout (see the .cu file for why).
# -D NVCC=… -D SOURCE_DIR=… -D OUT=… -D ARCH=…
execute_process(COMMAND "${NVCC}" -std=c++20 -arch=${ARCH} -I${SOURCE_DIR}/include -ptx
                        "${SOURCE_DIR}/tests/cuda/view_layout_kernels.cu" -o "${OUT}"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nvcc -ptx failed (${rc}):\n${err}")
endif()
file(READ "${OUT}" ptx)
# kernel;param bytes;offset of the member the kernel loads (host ABI, static_asserted in the .cu)
foreach(probe "sanawm_probe_static_columns;40;24" "sanawm_probe_all_static;16;8" "sanawm_probe_strided_static;40;32")
  list(GET probe 0 k)
  list(GET probe 1 size)
  list(GET probe 2 off)
  if(NOT ptx MATCHES "${k}_param_0\\[([0-9]+)\\]")
    message(FATAL_ERROR "${k}: no by-value parameter found in the PTX")
  endif()
  if(NOT CMAKE_MATCH_1 EQUAL size)
    message(FATAL_ERROR "${k}: the device parameter is ${CMAKE_MATCH_1} bytes, the host struct ${size}")
  endif()
  if(NOT ptx MATCHES "ld\\.param\\.u64[ \t]+%rd[0-9]+, \\[${k}_param_0\\+${off}\\]")
    message(FATAL_ERROR "${k}: the device code does not load the member at host offset ${off}")
  endif()
  message(STATUS "${k}: ${size} bytes, member at +${off} (host layout)")
endforeach()
