// SPDX-License-Identifier: Apache-2.0
// tests/dit/torch_pt_test.cpp — the .pt (torch.save zip + pickle) reader: state dicts, strided views, nested
// generator/model. prefixes, DiT loading equal to safetensors, and refusal of malicious or corrupt pickles.
#include <unistd.h>  // getpid

#include <random>

#include "dit_common.hpp"
#include "pt_writer.hpp"
#include "sanawm/io/torch_pt.hpp"

namespace sanawm::test {
namespace {

std::string error_of(const std::vector<std::byte>& zip) {
  try {
    const auto f = io::torch_pt_file::from_bytes(zip, "t.pt");
    for (const auto& n : f.names()) (void)f.read_as<float>(n);
  } catch (const sanawm::error& e) {
    return e.what();
  }
  return "";
}

TEST(TorchPt, ReadsNestedStateDictWithStridedViews) {
  pickle_writer p;
  p.proto();
  p.op('}');
  p.op('(');
  p.str("generator");
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  p.op('(');
  p.str("model.a");
  p.tensor("0", 6, 0, {2, 3}, {3, 1});
  p.str("model.a_t");  // a transposed view of the same storage
  p.tensor("0", 6, 0, {3, 2}, {1, 3});
  p.str("b");
  p.tensor("1", 4, 1, {3}, {1});
  p.op('u');
  p.op('}');  // BUILD state (upstream's _metadata attribute)
  p.op('b');
  p.str("epoch");
  p.integer(7);
  p.op('u');
  p.stop();
  const auto zip = torch_zip(p.b, {{"0", {1, 2, 3, 4, 5, 6}}, {"1", {9, 8, 7, 6}}});
  const auto f = io::torch_pt_file::from_bytes(zip, "t.pt");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"generator.b", "generator.model.a", "generator.model.a_t"}));
  EXPECT_EQ(f.read_as<float>("generator.model.a"), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(f.read_as<float>("generator.model.a_t"), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(f.read_as<float>("generator.b"), (std::vector<float>{8, 7, 6}));
  EXPECT_EQ(f.at("generator.model.a_t").shape, (std::vector<index_t>{3, 2}));
}

TEST(TorchPt, RefusesMaliciousAndCorruptPickles) {
  auto with = [](auto body) {
    pickle_writer p;
    p.proto();
    body(p);
    return torch_zip(p.b, {{"0", {1, 2, 3, 4}}});
  };
  // The classic payload: os.system via REDUCE. Refused at the GLOBAL, before anything could run.
  const std::string e1 = error_of(with([](pickle_writer& p) {
    p.global("os", "system");
    p.str("echo pwned");
    p.op(0x85);
    p.op('R');
    p.stop();
  }));
  EXPECT_NE(e1.find("global 'os.system' is not accepted"), std::string::npos) << e1;
  EXPECT_NE(error_of(with([](pickle_writer& p) { p.global("builtins", "eval"); p.stop(); })).find("not accepted"),
            std::string::npos);
  // INST ('i') and OBJ ('o') opcodes build arbitrary objects: refused.
  EXPECT_NE(error_of(with([](pickle_writer& p) { p.op('('); p.raw("i"); p.raw("os\nsystem\n"); p.stop(); }))
                .find("opcode 0x69"),
            std::string::npos);
  // Truncated pickle, stack underflow, STOP on a non-dict, storage smaller than the view, missing storage.
  EXPECT_NE(error_of(with([](pickle_writer& p) { p.op('}'); p.str("x"); })).find("truncated"), std::string::npos);
  EXPECT_NE(error_of(with([](pickle_writer& p) { p.op('t'); p.stop(); })).find("MARK"), std::string::npos);
  EXPECT_NE(error_of(with([](pickle_writer& p) { p.integer(3); p.stop(); })).find("not a dict"), std::string::npos);
  EXPECT_NE(error_of(with([](pickle_writer& p) {
              p.op('}');
              p.str("x");
              p.tensor("0", 4, 2, {3}, {1});
              p.op('s');
              p.stop();
            })).find("reaches element"),
            std::string::npos);
  EXPECT_NE(error_of(with([](pickle_writer& p) {
              p.op('}');
              p.str("x");
              p.tensor("7", 4, 0, {4}, {1});
              p.op('s');
              p.stop();
            })).find("missing"),
            std::string::npos);
  // A storage member whose size disagrees with the declared numel.
  EXPECT_NE(error_of(with([](pickle_writer& p) {
              p.op('}');
              p.str("x");
              p.tensor("0", 8, 0, {8}, {1});
              p.op('s');
              p.stop();
            })).find("bytes, expected"),
            std::string::npos);
  // Not a zip / no data.pkl.
  EXPECT_THROW(io::torch_pt_file::from_bytes(std::vector<std::byte>(100, std::byte{1}), "x"), sanawm::error);
  io::npz_writer z;
  z.add_member("archive/other", {std::byte{1}});
  EXPECT_THROW(io::torch_pt_file::from_bytes(z.to_bytes(), "x"), sanawm::error);
}

TEST(TorchPt, DitLoadsFromPtLikeFromSafetensors) {
  using namespace sanawm::dit;
  const dit_config c = small_test();
  std::mt19937 gen(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  io::safetensors_writer sw;
  pickle_writer p;
  p.proto();
  p.op('}');
  p.op('(');
  p.str("generator");
  p.op('}');
  p.op('(');
  std::vector<std::pair<std::string, std::vector<float>>> storages;
  int key = 0;
  for (const auto& [k, s] : expected_tensors(c)) {
    index_t n = 1;
    for (index_t d : s) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& e : v) e = k.find("norm") != std::string::npos ? 1.0f + 0.1f * nd(gen) : 0.1f * nd(gen);
    sw.add(k, s, v);
    std::vector<index_t> stride(s.size(), 1);
    for (std::size_t d = s.size(); d-- > 1;) stride[d - 1] = stride[d] * s[d];
    p.str("model." + k);
    p.tensor(std::to_string(key), n, 0, s, stride);
    storages.push_back({std::to_string(key++), std::move(v)});
  }
  p.op('u');
  p.op('u');
  p.stop();
  const auto dir = std::filesystem::temp_directory_path() / ("sanawm_pt_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    const auto zip = torch_zip(p.b, storages, "model");
    io::write_file_bytes(dir / "model.pt", zip, "test");
  }
  sw.set_metadata("config", config_to_json(c));
  sw.write(dir / "model.safetensors");
  dit_load_options o;
  o.fallback = c;
  load_report rep;
  const dit_weights a = load_dit_pt(dir / "model.pt", o, &rep);
  EXPECT_TRUE(rep.ok()) << rep.str();
  const dit_weights b = load_dit(dir / "model.safetensors", o);
  EXPECT_EQ(a.blocks[1].mlp.t_conv.f32, b.blocks[1].mlp.t_conv.f32);
  EXPECT_EQ(a.final_linear.weight.f32, b.final_linear.weight.f32);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sanawm::test
