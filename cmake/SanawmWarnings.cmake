# SanawmWarnings.cmake — options for sanawm's own targets (tests, bench, examples), never for consumers:
# one warning set for g++ and nvcc, -Werror in CI, -march=native, sanitizers.

set(_sanawm_cxx_warnings -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wformat=2
    -Wimplicit-fallthrough -Wmissing-declarations)
# Host-compiler warnings nvcc forwards; -Wpedantic/-Wold-style-cast fire on nvcc's own generated stubs.
set(_sanawm_cuda_host_warnings -Wall -Wextra -Wshadow -Wno-sign-conversion)

add_library(sanawm_project_options INTERFACE)
target_compile_options(sanawm_project_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:${_sanawm_cxx_warnings}>
  "$<$<COMPILE_LANGUAGE:CUDA>:--Wreorder;--Wno-deprecated-gpu-targets;-Xcompiler=$<JOIN:${_sanawm_cuda_host_warnings},$<COMMA>>>")
if(SANAWM_WERROR)
  target_compile_options(sanawm_project_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Werror>
    "$<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings;-Xcompiler=-Werror>")
endif()
if(SANAWM_NATIVE)
  target_compile_options(sanawm_project_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-march=native>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-march=native>)
endif()
if(SANAWM_SANITIZE)
  target_compile_options(sanawm_project_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${SANAWM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  target_link_options(sanawm_project_options INTERFACE -fsanitize=${SANAWM_SANITIZE})
endif()

# Compile-time budget: ninja logs every TU's time; cmake/build_times.py prints the slowest and enforces the budget.
find_program(SANAWM_PYTHON3 python3)
