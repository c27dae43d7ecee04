// SPDX-License-Identifier: Apache-2.0
// sanawm/io/torch_pt.hpp — reader for PyTorch .pt checkpoints (torch.save zip + pickle): the pickle subset that
// state dicts use, interpreted without executing anything; every other opcode or global is refused.
#pragma once
#if defined(__CUDACC__)
#error "sanawm/io/torch_pt.hpp: host-only header; include it from host code only"
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sanawm/core/error.hpp"
#include "sanawm/io/dtype.hpp"
#include "sanawm/io/npz.hpp"          // npz_file: the validated zip reader (members by full name)
#include "sanawm/io/safetensors.hpp"  // st_tensor

namespace sanawm::io {

/// One tensor of a .pt state dict: where its data lives (a storage member of the zip) and how it is viewed.
struct pt_tensor_ref {
  st_dtype dtype = st_dtype::F32;
  std::vector<index_t> shape, stride;
  index_t offset = 0;         ///< in elements, into the storage
  std::string storage_key;    ///< the persistent id key: member "<archive>/data/<key>"
  index_t storage_numel = 0;  ///< from the persistent id
};

namespace detail {

/// A pickle value of the accepted subset.
struct pk_value {
  enum class kind : std::uint8_t { none, boolean, integer, real, string, tuple, list, dict, global, storage, tensor, mark };
  kind k = kind::none;
  std::int64_t i = 0;
  double f = 0;
  std::string s;                          ///< string, or the global's "module.name"
  std::vector<std::shared_ptr<pk_value>> items;  ///< tuple/list; dict: alternating key, value
  pt_tensor_ref tensor;                   ///< storage (dtype, key, numel) or tensor
};
using pk_ptr = std::shared_ptr<pk_value>;

inline constexpr std::size_t pk_max_stack = 1u << 20;
inline constexpr std::size_t pk_max_depth = 64;

/// Storage class name → element type (torch.<X>Storage of the legacy typed-storage pickles).
inline bool pt_storage_dtype(std::string_view name, st_dtype& out) {
  static constexpr std::pair<std::string_view, st_dtype> table[] = {
      {"torch.FloatStorage", st_dtype::F32},   {"torch.DoubleStorage", st_dtype::F64},
      {"torch.HalfStorage", st_dtype::F16},    {"torch.BFloat16Storage", st_dtype::BF16},
      {"torch.LongStorage", st_dtype::I64},    {"torch.IntStorage", st_dtype::I32},
      {"torch.ShortStorage", st_dtype::I16},   {"torch.CharStorage", st_dtype::I8},
      {"torch.ByteStorage", st_dtype::U8},     {"torch.BoolStorage", st_dtype::BOOL}};
  for (const auto& [n, d] : table)
    if (n == name) {
      out = d;
      return true;
    }
  return false;
}

/// The interpreter: a stack machine over the accepted opcodes; globals are only names, never resolved.
class pickle_reader {
 public:
  pickle_reader(std::span<const std::byte> data, std::string label) : d_(data), label_(std::move(label)) {}

  pk_ptr run() {
    while (true) {
      const std::uint8_t op = u8();
      switch (op) {
        case 0x80: u8(); break;                         // PROTO
        case 0x95: bytes(8); break;                     // FRAME (size hint)
        case '.': {                                     // STOP
          if (stack_.size() != 1) throw fail("STOP with ", stack_.size(), " values on the stack");
          return stack_.back();
        }
        case 'N': push(make(pk_value::kind::none)); break;
        case 0x88: case 0x89: {
          auto v = make(pk_value::kind::boolean);
          v->i = op == 0x88;
          push(v);
          break;
        }
        case 'J': push_int(static_cast<std::int32_t>(le(4))); break;
        case 'K': push_int(static_cast<std::int64_t>(le(1))); break;
        case 'M': push_int(static_cast<std::int64_t>(le(2))); break;
        case 0x8a: {                                    // LONG1
          const std::size_t n = u8();
          if (n > 8) throw fail("LONG1 of ", n, " bytes is out of range");
          std::uint64_t v = n ? le(n) : 0;
          if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~std::uint64_t{0} << (8 * n);  // sign-extend
          push_int(static_cast<std::int64_t>(v));
          break;
        }
        case 'G': {                                     // BINFLOAT (big-endian double)
          std::uint64_t b = 0;
          for (std::byte x : bytes(8)) b = (b << 8) | std::to_integer<std::uint64_t>(x);
          auto v = make(pk_value::kind::real);
          std::memcpy(&v->f, &b, 8);
          push(v);
          break;
        }
        case 'X': push_str(le(4)); break;               // BINUNICODE
        case 0x8c: push_str(u8()); break;               // SHORT_BINUNICODE
        case 0x8d: push_str(le(8)); break;              // BINUNICODE8
        case ']': push(make(pk_value::kind::list)); break;
        case '}': push(make(pk_value::kind::dict)); break;
        case ')': push(make(pk_value::kind::tuple)); break;
        case '(': push(make(pk_value::kind::mark)); break;
        case 't': case 'l': case 'd': {                 // TUPLE / LIST / DICT from the mark
          auto items = pop_mark();
          auto v = make(op == 't' ? pk_value::kind::tuple : op == 'l' ? pk_value::kind::list : pk_value::kind::dict);
          if (op == 'd' && items.size() % 2) throw fail("DICT with an odd number of items");
          v->items = std::move(items);
          push(v);
          break;
        }
        case 0x85: case 0x86: case 0x87: {             // TUPLE1..3
          const std::size_t n = op - 0x84u;
          auto v = make(pk_value::kind::tuple);
          v->items.resize(n);
          for (std::size_t j = n; j-- > 0;) v->items[j] = pop();
          push(v);
          break;
        }
        case 'a': {                                     // APPEND
          auto x = pop();
          expect_kind(top(), pk_value::kind::list, "APPEND")->items.push_back(x);
          break;
        }
        case 'e': {                                     // APPENDS
          auto items = pop_mark();
          auto& l = expect_kind(top(), pk_value::kind::list, "APPENDS")->items;
          l.insert(l.end(), items.begin(), items.end());
          break;
        }
        case 's': {                                     // SETITEM
          auto v = pop(), k = pop();
          set_items(top(), {k, v});
          break;
        }
        case 'u': set_items(nullptr, pop_mark()); break;  // SETITEMS
        case 'q': memo_put(le(1)); break;               // BINPUT
        case 'r': memo_put(le(4)); break;               // LONG_BINPUT
        case 0x94: memo_put(memo_.size()); break;       // MEMOIZE
        case 'h': memo_get(le(1)); break;               // BINGET
        case 'j': memo_get(le(4)); break;               // LONG_BINGET
        case 'c': {                                     // GLOBAL "module\nname\n"
          const std::string mod = line(), name = line();
          push_global(mod + "." + name);
          break;
        }
        case 0x93: {                                    // STACK_GLOBAL
          auto name = pop(), mod = pop();
          if (mod->k != pk_value::kind::string || name->k != pk_value::kind::string)
            throw fail("STACK_GLOBAL needs two strings");
          push_global(mod->s + "." + name->s);
          break;
        }
        case 'Q': push(persistent_load(pop())); break;  // BINPERSID
        case 'R': {                                     // REDUCE
          auto args = pop(), fn = pop();
          push(reduce(fn, args));
          break;
        }
        case 'b': {                                     // BUILD: attribute state of an OrderedDict (_metadata)
          pop();
          const auto& t = top();
          if (t->k != pk_value::kind::dict && t->k != pk_value::kind::tensor)
            throw fail("BUILD is only accepted on dicts and tensors");
          break;
        }
        default:
          throw fail("pickle opcode 0x", hex(op), " at offset ", pos_ - 1,
                     " is not accepted (only the subset torch.save uses for state dicts)");
      }
    }
  }

 private:
  template <class... P>
  sanawm::error fail(const P&... parts) const {
    return make_error("torch_pt", label_, ": ", parts...);
  }
  static std::string hex(unsigned v) {
    const char* h = "0123456789abcdef";
    return {h[(v >> 4) & 15], h[v & 15]};
  }
  std::uint8_t u8() { return std::to_integer<std::uint8_t>(bytes(1)[0]); }
  std::span<const std::byte> bytes(std::uint64_t n) {
    if (n > d_.size() - pos_) throw fail("pickle truncated at offset ", pos_, " (", n, " bytes wanted)");
    auto s = d_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::uint64_t le(std::size_t n) {
    std::uint64_t v = 0;
    const auto b = bytes(n);
    for (std::size_t j = n; j-- > 0;) v = (v << 8) | std::to_integer<std::uint64_t>(b[j]);
    return v;
  }
  std::string line() {
    std::string s;
    while (true) {
      const char c = static_cast<char>(u8());
      if (c == '\n') return s;
      if (s.size() > 256) throw fail("GLOBAL name too long");
      s += c;
    }
  }
  static pk_ptr make(pk_value::kind k) {
    auto v = std::make_shared<pk_value>();
    v->k = k;
    return v;
  }
  void push(pk_ptr v) {
    if (stack_.size() >= pk_max_stack) throw fail("pickle stack overflow");
    stack_.push_back(std::move(v));
  }
  void push_int(std::int64_t x) {
    auto v = make(pk_value::kind::integer);
    v->i = x;
    push(v);
  }
  void push_str(std::uint64_t n) {
    auto b = bytes(n);
    auto v = make(pk_value::kind::string);
    v->s.assign(reinterpret_cast<const char*>(b.data()), b.size());
    push(v);
  }
  void push_global(std::string name) {
    static constexpr std::string_view allowed[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                                   "torch._utils._rebuild_parameter"};
    st_dtype dt{};
    bool ok = pt_storage_dtype(name, dt);
    for (auto a : allowed) ok = ok || a == name;
    if (!ok) throw fail("global '", printable_key(name), "' is not accepted (a state dict needs only OrderedDict, ",
                        "torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage)");
    auto v = make(pk_value::kind::global);
    v->s = std::move(name);
    push(v);
  }
  pk_ptr pop() {
    if (stack_.empty() || stack_.back()->k == pk_value::kind::mark) throw fail("pickle stack underflow");
    auto v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const pk_ptr& top() {
    if (stack_.empty() || stack_.back()->k == pk_value::kind::mark) throw fail("pickle stack underflow");
    return stack_.back();
  }
  std::vector<pk_ptr> pop_mark() {
    std::size_t m = stack_.size();
    while (m > 0 && stack_[m - 1]->k != pk_value::kind::mark) --m;
    if (m == 0) throw fail("no MARK on the stack");
    std::vector<pk_ptr> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m - 1);
    return items;
  }
  const pk_ptr& expect_kind(const pk_ptr& v, pk_value::kind k, const char* what) {
    if (v->k != k) throw fail(what, " on the wrong kind of value");
    return v;
  }
  void set_items(pk_ptr dict, std::vector<pk_ptr> kv) {
    if (!dict) dict = top();
    if (dict->k != pk_value::kind::dict) throw fail("SETITEM(S) on a value that is not a dict");
    if (kv.size() % 2) throw fail("SETITEMS with an odd number of items");
    dict->items.insert(dict->items.end(), kv.begin(), kv.end());
  }
  void memo_put(std::uint64_t idx) {
    if (idx > memo_.size() + pk_max_stack) throw fail("memo index ", idx, " out of range");
    if (idx >= memo_.size()) memo_.resize(static_cast<std::size_t>(idx) + 1);
    memo_[static_cast<std::size_t>(idx)] = top();
  }
  void memo_get(std::uint64_t idx) {
    if (idx >= memo_.size() || !memo_[static_cast<std::size_t>(idx)]) throw fail("memo index ", idx, " unset");
    push(memo_[static_cast<std::size_t>(idx)]);
  }
  static bool is_int(const pk_ptr& v) { return v->k == pk_value::kind::integer; }
  std::vector<index_t> int_tuple(const pk_ptr& v, const char* what) {
    if (v->k != pk_value::kind::tuple) throw fail(what, " must be a tuple of integers");
    std::vector<index_t> out;
    for (const auto& e : v->items) {
      if (!is_int(e) || e->i < 0) throw fail(what, " must hold non-negative integers");
      out.push_back(e->i);
    }
    return out;
  }
  pk_ptr persistent_load(const pk_ptr& pid) {
    // ('storage', <storage class>, key, location, numel)
    if (pid->k != pk_value::kind::tuple || pid->items.size() != 5 || pid->items[0]->k != pk_value::kind::string ||
        pid->items[0]->s != "storage" || pid->items[1]->k != pk_value::kind::global ||
        pid->items[2]->k != pk_value::kind::string || !is_int(pid->items[4]) || pid->items[4]->i < 0)
      throw fail("persistent id is not ('storage', torch.<T>Storage, key, location, numel)");
    auto v = make(pk_value::kind::storage);
    if (!pt_storage_dtype(pid->items[1]->s, v->tensor.dtype))
      throw fail("storage type '", pid->items[1]->s, "' is not accepted");
    v->tensor.storage_key = pid->items[2]->s;
    v->tensor.storage_numel = pid->items[4]->i;
    return v;
  }
  pk_ptr reduce(const pk_ptr& fn, const pk_ptr& args) {
    if (fn->k != pk_value::kind::global || args->k != pk_value::kind::tuple)
      throw fail("REDUCE needs an accepted global and an argument tuple");
    const auto& a = args->items;
    if (fn->s == "collections.OrderedDict") {
      if (!a.empty()) throw fail("OrderedDict(...) with arguments is not accepted");
      return make(pk_value::kind::dict);
    }
    if (fn->s == "torch._utils._rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.size() < 6 || a.size() > 7 || a[0]->k != pk_value::kind::storage || !is_int(a[1]) || a[1]->i < 0)
        throw fail("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)");
      auto v = make(pk_value::kind::tensor);
      v->tensor = a[0]->tensor;
      v->tensor.offset = a[1]->i;
      v->tensor.shape = int_tuple(a[2], "tensor size");
      v->tensor.stride = int_tuple(a[3], "tensor stride");
      if (v->tensor.shape.size() != v->tensor.stride.size()) throw fail("tensor size and stride ranks differ");
      // The last element viewed must lie inside the storage (checked with overflow-safe arithmetic).
      index_t last = v->tensor.offset;
      bool empty = false;
      for (std::size_t d = 0; d < v->tensor.shape.size(); ++d) {
        if (v->tensor.shape[d] == 0) empty = true;
        if (v->tensor.shape[d] > (index_t{1} << 40) || v->tensor.stride[d] > (index_t{1} << 40))
          throw fail("tensor size/stride out of range");
        if (!empty) last += (v->tensor.shape[d] - 1) * v->tensor.stride[d];
      }
      if (!empty && last >= v->tensor.storage_numel)
        throw fail("tensor view reaches element ", last, " of a storage of ", v->tensor.storage_numel);
      return v;
    }
    if (fn->s == "torch._utils._rebuild_parameter") {
      if (a.size() != 3 || a[0]->k != pk_value::kind::tensor) throw fail("_rebuild_parameter arguments are not (tensor, requires_grad, hooks)");
      return a[0];
    }
    throw fail("REDUCE of '", fn->s, "' is not accepted");
  }

  std::span<const std::byte> d_;
  std::string label_;
  std::size_t pos_ = 0;
  std::vector<pk_ptr> stack_;
  std::vector<pk_ptr> memo_;
};

}  // namespace detail

/// A PyTorch .pt checkpoint (the zip format of torch.save ≥ 1.6) holding a state dict. The pickle is
/// interpreted, never executed: only the opcodes and globals a state dict needs are accepted. Nested dicts
/// are flattened with "." (so {"generator": {"model.x": t}} → "generator.model.x"); non-tensor leaves are
/// skipped. Tensor data is read (and copied contiguous) one tensor at a time on `at`.
class torch_pt_file {
 public:
  static torch_pt_file open(const std::filesystem::path& path) {
    return parse(npz_file::open(path), path.string());
  }
  static torch_pt_file from_bytes(std::vector<std::byte> bytes, std::string label = "<memory>") {
    return parse(npz_file::from_bytes(std::move(bytes), label), label);
  }

  /// Flattened tensor names, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : tensors_) out.push_back(kv.first);
    return out;
  }
  bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
  const pt_tensor_ref& ref(std::string_view name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end())
      throw make_error("torch_pt", label_, ": no tensor named '", detail::printable_key(name), "' among ", tensors_.size(),
                       " tensors", detail::near_matches(name, tensors_));
    return it->second;
  }
  const std::string& label() const noexcept { return label_; }

  /// Tensor `name` as a contiguous st_tensor. The returned reference and its data stay valid until the next
  /// call to `at` (one tensor is materialised at a time, so a large checkpoint never needs 2× its size).
  const st_tensor& at(std::string_view name) const {
    const pt_tensor_ref& r = ref(name);
    const std::string member = prefix_ + "data/" + r.storage_key;
    if (!zip_.contains(member)) throw make_error("torch_pt", label_, ": storage member '", detail::printable_key(member), "' is missing");
    const std::vector<std::byte> storage = zip_.read_member(member);
    const std::size_t isz = st_dtype_size(r.dtype);
    if (storage.size() != static_cast<std::size_t>(r.storage_numel) * isz)
      throw make_error("torch_pt", label_, ": storage '", r.storage_key, "' holds ", storage.size(), " bytes, expected ",
                       r.storage_numel, " × ", isz);
    index_t n = 1;
    for (index_t d : r.shape) n *= d;
    cur_bytes_.resize(static_cast<std::size_t>(n) * isz);
    // Strided gather in C order (contiguous views reduce to one copy per innermost row).
    const std::size_t rank = r.shape.size();
    std::vector<index_t> idx(rank, 0);
    for (index_t e = 0; e < n; ++e) {
      index_t off = r.offset;
      for (std::size_t d = 0; d < rank; ++d) off += idx[d] * r.stride[d];
      std::memcpy(cur_bytes_.data() + static_cast<std::size_t>(e) * isz, storage.data() + static_cast<std::size_t>(off) * isz, isz);
      for (std::size_t d = rank; d-- > 0;) {
        if (++idx[d] < r.shape[d]) break;
        idx[d] = 0;
      }
    }
    cur_.name = std::string(name);
    cur_.dtype = r.dtype;
    cur_.shape = r.shape;
    cur_.data = cur_bytes_.data();
    cur_.nbytes = cur_bytes_.size();
    return cur_;
  }
  /// Converts tensor `name` to T.
  template <st_readable T>
  std::vector<T> read_as(std::string_view name) const {
    const st_tensor& t = at(name);
    std::vector<T> out(static_cast<std::size_t>(t.numel()));
    convert_elements<T>(t.dtype, t.data, out.size(), out.data(), "torch_pt", str_cat(label_, ": tensor '", name, "'"));
    return out;
  }
  /// No "__metadata__" in .pt files; present for the loader interface shared with safetensors.
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }

 private:
  static void flatten(const detail::pk_ptr& v, const std::string& prefix, std::size_t depth,
                      std::map<std::string, pt_tensor_ref, std::less<>>& out, const std::string& label) {
    if (depth > detail::pk_max_depth) throw make_error("torch_pt", label, ": state dict nested too deeply");
    if (v->k == detail::pk_value::kind::tensor) {
      if (!out.emplace(prefix, v->tensor).second)
        throw make_error("torch_pt", label, ": duplicate tensor name '", detail::printable_key(prefix), "'");
      return;
    }
    if (v->k != detail::pk_value::kind::dict) return;  // ints, strings, lists: not weights
    for (std::size_t i = 0; i + 1 < v->items.size(); i += 2) {
      const auto& k = v->items[i];
      std::string key;
      if (k->k == detail::pk_value::kind::string) key = k->s;
      else if (k->k == detail::pk_value::kind::integer) key = std::to_string(k->i);
      else throw make_error("torch_pt", label, ": dict key is neither a string nor an integer");
      flatten(v->items[i + 1], prefix.empty() ? key : prefix + "." + key, depth + 1, out, label);
    }
  }

  static torch_pt_file parse(npz_file zip, std::string label) {
    torch_pt_file f;
    f.label_ = std::move(label);
    std::string pkl;
    for (const auto& n : zip.names())
      if (n.ends_with("/data.pkl") && std::count(n.begin(), n.end(), '/') == 1) {
        if (!pkl.empty()) throw make_error("torch_pt", f.label_, ": more than one data.pkl in the archive");
        pkl = n;
      }
    if (pkl.empty())
      throw make_error("torch_pt", f.label_, ": no '<archive>/data.pkl' member (not a torch.save zip checkpoint; ",
                       "legacy non-zip .pt files are not supported)");
    f.prefix_ = pkl.substr(0, pkl.size() - 8);
    const std::vector<std::byte> bytes = zip.read_member(pkl);
    detail::pickle_reader rd(bytes, f.label_);
    const detail::pk_ptr root = rd.run();
    if (root->k != detail::pk_value::kind::dict)
      throw make_error("torch_pt", f.label_, ": the pickled object is not a dict (state dict expected)");
    flatten(root, "", 0, f.tensors_, f.label_);
    f.zip_ = std::move(zip);
    return f;
  }

  npz_file zip_;
  std::string label_, prefix_;
  std::map<std::string, pt_tensor_ref, std::less<>> tensors_;
  std::map<std::string, std::string> metadata_;
  mutable std::vector<std::byte> cur_bytes_;
  mutable st_tensor cur_;
};

}  // namespace sanawm::io
