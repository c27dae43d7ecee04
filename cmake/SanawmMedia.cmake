# SanawmMedia.cmake — the sanawm::media INTERFACE target: sanawm::sanawm + stb (stb_image, stb_image_write; Debian
# libstb-dev ships the headers in <stb/...> and the compiled implementation in libstb.so, so no translation unit
# defines STB_*_IMPLEMENTATION). Used by sanawm/io/image.hpp and sanawm/io/video.hpp; kept apart so the core
# target never needs stb. Included by tests/io, tests/fuzz and the generator examples (whichever comes first
# defines it; targets are global, variables are not).
if(NOT TARGET sanawm_media)
  find_path(SANAWM_STB_INCLUDE_DIR stb/stb_image.h)
  find_library(SANAWM_STB_LIBRARY stb)
  if(SANAWM_STB_INCLUDE_DIR AND SANAWM_STB_LIBRARY)
    add_library(sanawm_media INTERFACE)
    add_library(sanawm::media ALIAS sanawm_media)
    # SYSTEM: the stb headers are not warning-clean under the project flags.
    target_include_directories(sanawm_media SYSTEM INTERFACE "${SANAWM_STB_INCLUDE_DIR}")
    target_link_libraries(sanawm_media INTERFACE sanawm::sanawm "${SANAWM_STB_LIBRARY}")
  elseif(NOT SANAWM_MEDIA_REPORTED)
    message(STATUS "sanawm: stb not found (Debian: libstb-dev); image/video targets skipped")
    set(SANAWM_MEDIA_REPORTED ON CACHE INTERNAL "")
  endif()
endif()
if(TARGET sanawm_media)
  set(SANAWM_MEDIA_AVAILABLE ON)
else()
  set(SANAWM_MEDIA_AVAILABLE OFF)
endif()
