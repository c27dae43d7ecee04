// SPDX-License-Identifier: Apache-2.0
// tests/dit/dit_unit_test.cpp — DiT config validation and JSON round trip, chunk split, strict checkpoint
// binding (missing / unexpected / mis-shaped / corrupt), batch independence and streaming on a random small model.
#include <random>

#include "dit_common.hpp"
#include "support/test_util.hpp"

namespace sanawm::test {
namespace {

using namespace sanawm::dit;

TEST(DitConfig, ChunkStartsFollowFirstChunkPlusOne) {
  EXPECT_EQ(chunk_starts(3, 3), (std::vector<index_t>{0}));
  EXPECT_EQ(chunk_starts(4, 3), (std::vector<index_t>{0}));
  EXPECT_EQ(chunk_starts(7, 3), (std::vector<index_t>{0, 4}));
  EXPECT_EQ(chunk_starts(8, 3), (std::vector<index_t>{0, 4}));
  EXPECT_EQ(chunk_starts(9, 3), (std::vector<index_t>{0, 4}));
  EXPECT_EQ(chunk_starts(10, 3), (std::vector<index_t>{0, 4, 7}));
  EXPECT_EQ(chunk_starts(121, 3).size(), 40u);
}

TEST(DitConfig, PresetsValidateAndReleasedShapesAreRight) {
  const dit_config c = sana_wm_2_6b();
  c.validate();
  EXPECT_EQ(c.heads(), 20);
  EXPECT_EQ(c.ffn_hidden(), 6720);
  std::vector<index_t> softmax;
  for (index_t i = 0; i < c.depth; ++i)
    if (c.kind(i) == block_kind::softmax) softmax.push_back(i);
  EXPECT_EQ(softmax, (std::vector<index_t>{3, 7, 11, 15, 19}));
  EXPECT_NEAR(c.cam_scale(), 1.0 / std::sqrt(128.0), 1e-15);
  EXPECT_NEAR(c.main_scale(), 1.0 / std::sqrt(112.0), 1e-15);
  // Parameter count of the released model (architecture dossier §0.3, without the unused raymap/y_embedding).
  index_t n = 0;
  for (const auto& [k, s] : expected_tensors(c)) {
    index_t m = 1;
    for (index_t d : s) m *= d;
    n += m;
  }
  EXPECT_EQ(n, 2'662'491'668 - 300 * 2304 - (2240 * 3 + 2240) - 20);
  golden_tiny().validate();
  small_test().validate();
}

TEST(DitConfig, ValidateNamesTheBadField) {
  dit_config c = small_test();
  c.head_dim = 100;
  try {
    c.validate();
    FAIL() << "expected an error";
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("head_dim 100"), std::string::npos) << e.what();
  }
  c = small_test();
  c.hidden = 200;
  EXPECT_THROW(c.validate(), sanawm::error);
  c = small_test();
  c.t_kernel = 5;
  EXPECT_THROW(c.validate(), sanawm::error);
}

TEST(DitConfig, JsonRoundTripAndRejections) {
  const dit_config c = small_test();
  const dit_config r = config_from_json(io::parse_json(config_to_json(c)));
  EXPECT_EQ(r.depth, c.depth);
  EXPECT_EQ(r.hidden, c.hidden);
  EXPECT_EQ(r.caption_channels, c.caption_channels);
  EXPECT_EQ(r.softmax_every_n, c.softmax_every_n);
  EXPECT_THROW(config_from_json(io::parse_json(R"({"patch_size": [1, 2, 2]})")), sanawm::error);
  EXPECT_THROW(config_from_json(io::parse_json(R"({"depth": "four"})")), sanawm::error);
  EXPECT_THROW(config_from_json(io::parse_json(R"({"hidden_size": 224, "num_heads": 3, "depth": 2})")),
               sanawm::error);
  EXPECT_THROW(config_from_json(io::parse_json("[1]")), sanawm::error);
}

/// A random checkpoint for `c` in safetensors bytes, with `edit` applied to the writer list first.
std::vector<std::byte> random_checkpoint(const dit_config& c, std::uint64_t seed,
                                         const std::function<void(std::vector<std::pair<std::string, std::vector<index_t>>>&)>& edit = {}) {
  auto list = expected_tensors(c);
  if (edit) edit(list);
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  io::safetensors_writer wr;
  for (const auto& [k, s] : list) {
    index_t n = 1;
    for (index_t d : s) n *= d;
    const index_t fan_in = s.size() >= 2 ? n / s[0] : 1;
    std::vector<float> v(static_cast<std::size_t>(n));
    const bool norm = k.find("norm") != std::string::npos;
    for (auto& e : v) e = norm ? 1.0f + 0.2f * nd(gen) : nd(gen) / std::sqrt(float(fan_in));
    if (k.find("A_log") != std::string::npos)
      for (auto& e : v) e = std::log(0.3f + std::abs(e));
    wr.add(k, s, v);
  }
  wr.set_metadata("config", config_to_json(c));
  return wr.to_bytes();
}

dit_weights load_bytes(std::vector<std::byte> b, weight_dtype dt = weight_dtype::f32, load_report* rep = nullptr) {
  const auto f = io::safetensors_file::from_bytes(std::move(b), "test.safetensors");
  dit_load_options o;
  o.dtype = dt;
  o.fallback = small_test();
  return load_dit_from(f, "test.safetensors", o, rep);
}

std::string load_error(std::vector<std::byte> b) {
  try {
    load_bytes(std::move(b));
  } catch (const sanawm::error& e) {
    return e.what();
  }
  return "";
}

TEST(DitCheckpoint, StrictBindingReportsMissingUnexpectedAndMisShaped) {
  const dit_config c = small_test();
  load_report rep;
  const dit_weights w = load_bytes(random_checkpoint(c, 1), weight_dtype::f32, &rep);
  EXPECT_TRUE(rep.ok()) << rep.str();
  EXPECT_EQ(rep.loaded, expected_tensors(c).size());
  EXPECT_EQ(w.config.depth, 2);

  const std::string miss = load_error(random_checkpoint(c, 1, [](auto& l) {
    std::erase_if(l, [](const auto& e) { return e.first == "blocks.1.mlp.t_conv.weight"; });
  }));
  EXPECT_NE(miss.find("1 missing"), std::string::npos) << miss;
  EXPECT_NE(miss.find("blocks.1.mlp.t_conv.weight"), std::string::npos) << miss;

  const std::string extra = load_error(random_checkpoint(c, 1, [](auto& l) { l.push_back({"blocks.9.attn.qkv.weight", {3, 3}}); }));
  EXPECT_NE(extra.find("unexpected"), std::string::npos) << extra;
  EXPECT_NE(extra.find("blocks.9.attn.qkv.weight"), std::string::npos) << extra;

  const std::string shape = load_error(random_checkpoint(c, 1, [](auto& l) {
    for (auto& e : l)
      if (e.first == "blocks.0.attn.proj.weight") e.second = {112, 111};
  }));
  EXPECT_NE(shape.find("mis-shaped"), std::string::npos) << shape;
  EXPECT_NE(shape.find("[112, 111]"), std::string::npos) << shape;

  // Keys upstream stores but the forward does not use are accepted and listed as ignored.
  load_report r2;
  load_bytes(random_checkpoint(c, 1, [](auto& l) {
    l.push_back({"pos_embed", {1, 4}});
    l.push_back({"blocks.0.attn.recall_gate", {1}});
    l.push_back({"y_embedder.y_embedding", {300, 32}});
  }), weight_dtype::f32, &r2);
  EXPECT_TRUE(r2.ok());
  EXPECT_EQ(r2.ignored.size(), 3u);
}

TEST(DitCheckpoint, CorruptAndTruncatedFilesAreRejected) {
  auto bytes = random_checkpoint(small_test(), 2);
  auto truncated = bytes;
  truncated.resize(truncated.size() - 100);
  EXPECT_THROW(load_bytes(truncated), sanawm::error);
  auto bad_header = bytes;
  bad_header[10] = std::byte{'#'};
  EXPECT_THROW(load_bytes(bad_header), sanawm::error);
  // A config that disagrees with the tensors: every block-level tensor is then mis-shaped or missing.
  io::safetensors_writer wr;
  dit_config other = small_test();
  other.hidden = 224;
  const auto f = io::safetensors_file::from_bytes(bytes, "x");
  for (const auto& n : f.names()) wr.add(n, f.at(n).shape, f.read_as<float>(n));
  wr.set_metadata("config", config_to_json(other));
  const std::string e = load_error(wr.to_bytes());
  EXPECT_NE(e.find("mis-shaped"), std::string::npos) << e;
}

dit_inputs random_inputs(const dit_config& c, index_t B, index_t T, index_t Hl, index_t Wl, index_t L,
                         std::uint64_t seed) {
  dit_inputs in;
  in.B = B, in.T = T, in.Hl = Hl, in.Wl = Wl, in.L = L;
  const index_t N = T * Hl * Wl;
  in.x = random_vector<float>(static_cast<std::size_t>(B * c.in_channels * N), -2, 2, seed);
  in.y = random_vector<float>(static_cast<std::size_t>(B * L * c.caption_channels), -1, 1, seed + 1);
  in.chunk_plucker = random_vector<float>(static_cast<std::size_t>(B * c.plucker_channels * N), -1, 1, seed + 2);
  in.mask.assign(static_cast<std::size_t>(B * L), 1);
  in.mask.back() = 0;
  for (index_t b = 0; b < B; ++b)
    for (index_t t = 0; t < T; ++t) {
      in.timestep.push_back(t == 0 ? 0.0f : 700.5f + 10.0f * float(b));
      // A camera moving forward and turning slightly: rotation about y by 0.05·t, translation 0.1·t.
      const float a = 0.05f * float(t), ca = std::cos(a), sa = std::sin(a);
      const float row[20] = {ca, 0, sa, 0, 0, 1, 0, 0, -sa, 0, ca, 0.1f * float(t), 0, 0, 0, 1,
                             float(Wl), float(Wl), 0.5f * float(Wl), 0.5f * float(Hl)};
      in.camera_conditions.insert(in.camera_conditions.end(), row, row + 20);
    }
  return in;
}

TEST(DitForward, BatchRowsAreIndependent) {
  const dit_weights w = load_bytes(random_checkpoint(small_test(), 3));
  const dit_inputs two = random_inputs(w.config, 2, 3, 2, 3, 4, 11);
  const auto out2 = dit_forward(w, two);
  dit_inputs one = two;
  one.B = 1;
  const index_t N = 3 * 6, Cin = w.config.in_channels;
  auto second = [](const std::vector<float>& v, std::size_t n) { return std::vector<float>(v.begin() + long(n), v.end()); };
  one.x = second(two.x, static_cast<std::size_t>(Cin * N));
  one.y = second(two.y, static_cast<std::size_t>(4 * w.config.caption_channels));
  one.mask = std::vector<std::int64_t>(two.mask.begin() + 4, two.mask.end());
  one.timestep = second(two.timestep, 3);
  one.camera_conditions = second(two.camera_conditions, 60);
  one.chunk_plucker = second(two.chunk_plucker, static_cast<std::size_t>(w.config.plucker_channels * N));
  const auto out1 = dit_forward(w, one);
  ASSERT_EQ(out1.size() * 2, out2.size());
  for (std::size_t i = 0; i < out1.size(); ++i) ASSERT_EQ(out1[i], out2[out1.size() + i]) << i;
}

TEST(DitForward, InputSizeErrorsAreClear) {
  const dit_weights w = load_bytes(random_checkpoint(small_test(), 3));
  dit_inputs in = random_inputs(w.config, 1, 2, 2, 2, 3, 5);
  in.x.pop_back();
  try {
    dit_forward(w, in);
    FAIL();
  } catch (const sanawm::error& e) {
    EXPECT_NE(std::string(e.what()).find("input x"), std::string::npos) << e.what();
  }
  in = random_inputs(w.config, 1, 5, 2, 2, 3, 5);
  forward_options o;
  o.mode = dit_mode::chunk_causal;
  o.chunk_index = {0, 7};
  EXPECT_THROW(dit_forward(w, in, o), sanawm::error);
  o.chunk_index = {1};
  EXPECT_THROW(dit_forward(w, in, o), sanawm::error);
}

TEST(DitStreaming, SinkWindowKeepsFirstChunkAndBoundsTheCache) {
  const dit_weights w = load_bytes(random_checkpoint(small_test(), 4));
  // T = 13 → chunks [4, 3, 3, 3]; streaming over all of them with an unlimited cache equals strict chunk-causal.
  const dit_inputs in = random_inputs(w.config, 1, 13, 2, 2, 3, 21);
  forward_options o;
  o.mode = dit_mode::chunk_causal;
  o.strict_softmax_chunk_mask = true;
  const auto full = dit_forward(w, in, o);
  for (index_t window : {index_t{0}, index_t{2}}) {
    stream_state st;
    st.num_cached_chunks = window;
    const std::vector<index_t> starts{0, 4, 7, 10, 13};
    double worst = 0;
    for (std::size_t c = 0; c + 1 < starts.size(); ++c) {
      const index_t f = starts[c], n = starts[c + 1] - f;
      const auto out = dit_forward_stream(w, st, slice_frames(in, f, n, w.config.in_channels, w.config.plucker_channels), true);
      worst = std::max(worst, max_diff_frames(out, full, w.config.in_channels, 13, f, n, 4));
    }
    const auto& kv = st.blocks[1].kv;  // block 1 is the softmax block of small_test
    if (window == 0) {
      EXPECT_EQ(kv.size(), 4u);
      EXPECT_LE(worst, 1e-5);
    } else {
      EXPECT_EQ(kv.size(), 2u);
      EXPECT_EQ(kv.front().tokens, 16);  // the 4-frame sink chunk stays
      EXPECT_GT(worst, 0.0);             // chunk 3 no longer sees chunk 1 (sink 0 + recent 2 + itself)
    }
  }
}

TEST(DitStreaming, BatchOfTwoEqualsStrictChunkCausal) {
  const dit_weights w = load_bytes(random_checkpoint(small_test(), 6));
  const dit_inputs in = random_inputs(w.config, 2, 8, 2, 3, 3, 31);  // chunks [4, 4]
  forward_options o;
  o.mode = dit_mode::chunk_causal;
  o.strict_softmax_chunk_mask = true;
  const auto full = dit_forward(w, in, o);
  stream_state st;
  double worst = 0;
  for (auto [f, n] : {std::pair<index_t, index_t>{0, 4}, {4, 4}}) {
    const dit_inputs s = slice_frames(in, f, n, w.config.in_channels, w.config.plucker_channels);
    const auto ro = dit_forward_stream(w, st, s, false);
    const auto out = dit_forward_stream(w, st, s, true);
    EXPECT_EQ(ro, out);
    worst = std::max(worst, max_diff_frames(out, full, 2 * w.config.in_channels, 8, f, n, 6));
  }
  EXPECT_LE(worst, 1e-5);
}

}  // namespace
}  // namespace sanawm::test
