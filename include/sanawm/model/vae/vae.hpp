// SPDX-License-Identifier: Apache-2.0
// sanawm/model/vae/vae.hpp — the LTX-2 video VAE in one include: config, parameter tree, loader, encoder, streaming
// decoder and spatially tiled decoding (see docs/vae.md).
#pragma once

#if defined(__CUDACC__)
#error "sanawm/model/vae/vae.hpp: host-only header (file I/O, CPU SIMD kernels); include it from .cpp files"
#endif

#include "sanawm/model/vae/config.hpp"   // vae_config, presets
#include "sanawm/model/vae/decoder.hpp"  // decoder_stream, decode
#include "sanawm/model/vae/encoder.hpp"  // encode, normalize_latents, denormalize_latents
#include "sanawm/model/vae/loader.hpp"   // load_vae
#include "sanawm/model/vae/modules.hpp"  // vae_weights
