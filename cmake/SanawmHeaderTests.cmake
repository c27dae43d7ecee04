# SanawmHeaderTests.cmake — header self-containment: one generated TU per public header, compiled on its own
# (CCCL-style). Every .hpp under g++; every .hpp that is not host-only and every .cuh under nvcc.
# A header is host-only when it refuses nvcc with an `#error "... host-only header ..."` line.
file(GLOB_RECURSE _sanawm_headers CONFIGURE_DEPENDS RELATIVE "${PROJECT_SOURCE_DIR}/include"
     "${PROJECT_SOURCE_DIR}/include/sanawm/*.hpp" "${PROJECT_SOURCE_DIR}/include/sanawm/*.cuh")
set(_cxx_tus)
set(_cuda_tus)
foreach(h IN LISTS _sanawm_headers)
  string(MAKE_C_IDENTIFIER "${h}" _id)
  file(STRINGS "${PROJECT_SOURCE_DIR}/include/${h}" _host_only REGEX "#error .*host-only header")
  # Included twice: also proves the include guard / #pragma once works.
  set(_body "// Generated header test for ${h}.\n#include \"${h}\"\n#include \"${h}\"\n")
  if(h MATCHES "\\.hpp$")
    set(_tu "${CMAKE_CURRENT_BINARY_DIR}/header_tests/${_id}.cpp")
    file(CONFIGURE OUTPUT "${_tu}" CONTENT "${_body}")
    list(APPEND _cxx_tus "${_tu}")
  endif()
  if(SANAWM_HAS_CUDA AND (h MATCHES "\\.cuh$" OR NOT _host_only))
    set(_tu "${CMAKE_CURRENT_BINARY_DIR}/header_tests/${_id}.cu")
    file(CONFIGURE OUTPUT "${_tu}" CONTENT "${_body}")
    list(APPEND _cuda_tus "${_tu}")
  endif()
endforeach()

add_library(sanawm_header_tests_cxx OBJECT ${_cxx_tus})
target_link_libraries(sanawm_header_tests_cxx PRIVATE sanawm::sanawm sanawm_project_options)
if(SANAWM_HAS_CUDA AND _cuda_tus)
  add_library(sanawm_header_tests_cuda OBJECT ${_cuda_tus})
  target_link_libraries(sanawm_header_tests_cuda PRIVATE sanawm::cuda sanawm_project_options)
endif()
list(LENGTH _cxx_tus _n_cxx)
list(LENGTH _cuda_tus _n_cuda)
message(STATUS "sanawm: header tests: ${_n_cxx} under ${CMAKE_CXX_COMPILER_ID}, ${_n_cuda} under nvcc")
