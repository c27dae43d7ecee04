# SanawmCuda.cmake — optional CUDA: enable the language only when asked or when nvcc exists; C++20 for nvcc
# under CMake 3.25; explicit default architectures (no GPU to auto-detect); CCCL from the toolkit.
set(SANAWM_HAS_CUDA OFF)
if(SANAWM_ENABLE_CUDA STREQUAL "OFF")
  return()
endif()

# nvcc is often installed but not on PATH; look in the usual prefix before giving up.
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS "/usr/local/cuda/bin/nvcc")
  set(CMAKE_CUDA_COMPILER "/usr/local/cuda/bin/nvcc" CACHE FILEPATH "CUDA compiler")
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  if(SANAWM_ENABLE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "sanawm: SANAWM_ENABLE_CUDA=ON but no CUDA compiler was found (set CUDACXX or put nvcc on PATH)")
  endif()
  message(STATUS "sanawm: no CUDA compiler found; building the CPU backend only")
  return()
endif()

# No GPU at configure time: never let CMake probe for one. 90a = H100/H200 (sm_90a features: wgmma, TMA).
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
  set(CMAKE_CUDA_ARCHITECTURES "90a" CACHE STRING "CUDA architectures to compile for")
endif()
enable_language(CUDA)
# CMake 3.25 does not know nvcc's C++20 flag (nor the cuda_std_20 feature); teach it the flag and use the
# CUDA_STANDARD property (later CMake versions set these themselves).
if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
endif()
if(NOT DEFINED CMAKE_CUDA_STANDARD)
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
endif()

find_package(CUDAToolkit REQUIRED)
find_package(CCCL CONFIG REQUIRED HINTS "${CUDAToolkit_LIBRARY_DIR}/cmake")

add_library(sanawm_cuda INTERFACE)
add_library(sanawm::cuda ALIAS sanawm_cuda)
set_target_properties(sanawm_cuda PROPERTIES EXPORT_NAME cuda)
target_link_libraries(sanawm_cuda INTERFACE sanawm::sanawm CUDA::cudart CUDA::cublasLt CCCL::CCCL)
target_compile_definitions(sanawm_cuda INTERFACE SANAWM_WITH_CUDA=1)
# Lambdas with __device__ annotations are used by the launch helpers' callers.
target_compile_options(sanawm_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:--extended-lambda>)
set(SANAWM_HAS_CUDA ON)
