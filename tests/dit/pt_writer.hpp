// SPDX-License-Identifier: Apache-2.0
// tests/dit/pt_writer.hpp — writes torch.save-style zip checkpoints (protocol-2 pickle + storage members) for the
// .pt reader tests and the fuzz corpus; mirrors what torch emits for a state dict of CPU tensors.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sanawm/io/npz.hpp"

namespace sanawm::test {

struct pickle_writer {
  std::vector<std::byte> b;
  void op(int c) { b.push_back(std::byte(static_cast<unsigned char>(c))); }
  void raw(const std::string& s) {
    for (char c : s) op(static_cast<unsigned char>(c));
  }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) op(static_cast<int>((v >> (8 * i)) & 0xff));
  }
  void proto() { op(0x80), op(2); }
  void global(const std::string& m, const std::string& n) { op('c'), raw(m + "\n" + n + "\n"); }
  void str(const std::string& s) { op('X'), u32(static_cast<std::uint32_t>(s.size())), raw(s); }
  void integer(std::int32_t v) { op('J'), u32(static_cast<std::uint32_t>(v)); }
  void int_tuple(const std::vector<index_t>& v) {
    op('(');
    for (index_t x : v) integer(static_cast<std::int32_t>(x));
    op('t');
  }
  /// _rebuild_tensor_v2(storage(key, numel), offset, size, stride, False, OrderedDict()).
  void tensor(const std::string& key, index_t numel, index_t offset, const std::vector<index_t>& size,
              const std::vector<index_t>& stride, const std::string& storage = "FloatStorage") {
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    op('(');
    str("storage");
    global("torch", storage);
    str(key);
    str("cpu");
    integer(static_cast<std::int32_t>(numel));
    op('t');
    op('Q');
    integer(static_cast<std::int32_t>(offset));
    int_tuple(size);
    int_tuple(stride);
    op(0x89);
    global("collections", "OrderedDict");
    op(')');
    op('R');
    op('t');
    op('R');
  }
  void stop() { op('.'); }
};

/// A torch zip: "<archive>/data.pkl", "<archive>/data/<key>" storages, "<archive>/version".
inline std::vector<std::byte> torch_zip(const std::vector<std::byte>& pkl,
                                        const std::vector<std::pair<std::string, std::vector<float>>>& storages,
                                        const std::string& archive = "archive") {
  io::npz_writer z;
  z.add_member(archive + "/data.pkl", pkl);
  for (const auto& [k, v] : storages) {
    std::vector<std::byte> bytes(v.size() * 4);
    if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
    z.add_member(archive + "/data/" + k, bytes);
  }
  z.add_member(archive + "/version", {std::byte{'3'}, std::byte{'\n'}});
  return z.to_bytes();
}

}  // namespace sanawm::test
