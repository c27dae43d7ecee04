# Runs sanawm-generate at 1 and 2 threads with the same seed and requires byte-identical videos and a sidecar
# that records the seed. Invoked by ctest: cmake -DGEN=<sanawm-generate> -DOUT=<dir> -P threads_identical.cmake
foreach(t 1 2)
  execute_process(COMMAND "${GEN}" --mode streaming --frames 41 --step-list 1000,889,0 --seed 17 --threads ${t}
                          --no-progress -o "${OUT}/threads${t}.y4m" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "sanawm-generate --threads ${t} failed (${rc})")
  endif()
endforeach()
execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${OUT}/threads1.y4m" "${OUT}/threads2.y4m" RESULT_VARIABLE diff)
if(NOT diff EQUAL 0)
  message(FATAL_ERROR "videos differ between 1 and 2 threads")
endif()
file(READ "${OUT}/threads1.y4m.json" side)
string(JSON seed GET "${side}" seed)
if(NOT seed EQUAL 17)
  message(FATAL_ERROR "sidecar seed is '${seed}', expected 17")
endif()
message(STATUS "identical at 1 and 2 threads; sidecar records seed ${seed}")
