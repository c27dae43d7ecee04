// SPDX-License-Identifier: Apache-2.0
// sanawm/io/safetensors.hpp — strict mmap'd safetensors reader, writer, and sharded-checkpoint index.
#pragma once

#if defined(__CUDACC__)
#error "sanawm/io/safetensors.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <algorithm>         // std::sort, std::min
#include <bit>               // std::endian
#include <cstddef>           // std::byte, std::size_t
#include <cstdint>           // std::uint64_t, std::uintptr_t
#include <cstring>           // std::memcpy
#include <filesystem>        // std::filesystem::path
#include <functional>        // std::less
#include <initializer_list>  // read_as(name, {shape...})
#include <map>               // std::map
#include <memory>            // std::unique_ptr
#include <mutex>             // std::mutex (lazy shard opening)
#include <span>              // std::span
#include <string>            // std::string
#include <string_view>       // std::string_view
#include <utility>           // std::move
#include <vector>            // std::vector

#include "sanawm/core/error.hpp"      // make_error
#include "sanawm/core/int.hpp"        // index_t
#include "sanawm/io/dtype.hpp"        // st_dtype, convert_elements
#include "sanawm/io/json.hpp"         // parse_json
#include "sanawm/io/mapped_file.hpp"  // mapped_file

namespace sanawm::io {

/// One tensor of a safetensors file: a view into the file's mapping (valid while the file object lives).
struct st_tensor {
  std::string name;
  st_dtype dtype = st_dtype::F32;
  std::vector<index_t> shape;       ///< outermost first; empty for a scalar
  const std::byte* data = nullptr;  ///< little-endian, C order, any alignment
  std::size_t nbytes = 0;           ///< == numel() · st_dtype_size(dtype)

  index_t numel() const noexcept { return detail::numel_of(shape); }
  std::span<const std::byte> bytes() const noexcept { return {data, nbytes}; }
};

namespace detail {

/// Largest accepted JSON header. The reference implementation uses the same bound; it keeps a hostile length
/// field from making the parser chew on gigabytes.
inline constexpr std::uint64_t st_max_header_bytes = 100'000'000;

template <class Names>
[[noreturn]] void throw_missing_tensor(std::string_view op, std::string_view label, std::string_view name,
                                       const Names& names) {
  throw make_error(op, label, ": no tensor named '", printable_key(name), "' among ", names.size(),
                   " tensors", near_matches(name, names));
}

inline void check_expected_shape(std::string_view op, std::string_view label, const st_tensor& t,
                                 std::span<const index_t> expected) {
  if (!std::equal(t.shape.begin(), t.shape.end(), expected.begin(), expected.end()))
    throw make_error(op, label, ": tensor '", printable_key(t.name), "' has shape ", shape_string(t.shape),
                     " but ", shape_string(std::vector<index_t>(expected.begin(), expected.end())),
                     " was expected");
}

template <st_readable T>
void read_tensor_into(std::string_view op, std::string_view label, const st_tensor& t, std::span<T> out) {
  if (out.size() != static_cast<std::size_t>(t.numel()))
    throw make_error(op, label, ": tensor '", printable_key(t.name), "' has ", t.numel(), " elements ",
                     shape_string(t.shape), " but the destination holds ", out.size());
  convert_elements<T>(
      t.dtype, t.data, out.size(), out.data(), op,
      str_cat(label, ": tensor '", printable_key(t.name), "' (", st_dtype_name(t.dtype), ")"));
}

}  // namespace detail

/// A validated safetensors file, memory-mapped read-only (or held in memory, for tests and fuzzing).
/// Move-only; st_tensor views and references stay valid until the object is destroyed.
///
/// Layout: u64 little-endian header length N | N bytes of JSON `{name: {dtype, shape, data_offsets},
/// "__metadata__": {str: str}}` | data section; data_offsets are [begin, end) relative to the data section.
/// `open` rejects (with "[safetensors] <path>: <problem>"): files shorter than 8 bytes, N beyond the file or
/// above 100 MB, a header that is not one well-formed JSON object (duplicate keys included), entries with
/// missing, extra or mistyped fields, unknown dtype strings, negative or overflowing shapes, offsets out of
/// bounds or with begin > end, byte counts ≠ numel · itemsize, and tensors that overlap, leave gaps or leave
/// trailing bytes (the data section must be covered exactly, as the reference implementation requires).
class safetensors_file {
 public:
  using tensor_map = std::map<std::string, st_tensor, std::less<>>;

  safetensors_file() = default;
  safetensors_file(safetensors_file&&) noexcept = default;
  safetensors_file& operator=(safetensors_file&&) noexcept = default;
  safetensors_file(const safetensors_file&) = delete;
  safetensors_file& operator=(const safetensors_file&) = delete;

  /// Maps and validates `path`.
  static safetensors_file open(const std::filesystem::path& path) {
    return parse(mapped_file::map(path, "safetensors"));
  }
  /// Validates an in-memory file; `label` names it in errors.
  static safetensors_file from_bytes(std::vector<std::byte> bytes, std::string label = "<memory>") {
    return parse(mapped_file::from_bytes(std::move(bytes), std::move(label)));
  }

  /// Releases the resident pages of `t` (a tensor of this file) after its bytes have been consumed (see
  /// mapped_file::drop_pages).
  void drop_pages(const st_tensor& t) const noexcept { file_.drop_pages(t.bytes()); }
  bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }

  /// The tensor `name`; the error for a missing name suggests near matches.
  const st_tensor& at(std::string_view name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) detail::throw_missing_tensor("safetensors", label(), name, tensors_);
    return it->second;
  }

  /// All tensor names, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& [name, t] : tensors_) out.push_back(name);
    return out;
  }
  std::size_t size() const noexcept { return tensors_.size(); }
  const tensor_map& tensors() const noexcept { return tensors_; }
  /// The "__metadata__" string map (empty when absent).
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  /// The path it was opened from (or the label given to from_bytes).
  const std::string& label() const noexcept { return file_.label(); }

  /// Converts tensor `name` to T (see convert_elements for the rules); C order.
  template <st_readable T>
  std::vector<T> read_as(std::string_view name) const {
    const st_tensor& t = at(name);
    std::vector<T> out(static_cast<std::size_t>(t.numel()));
    detail::read_tensor_into<T>("safetensors", label(), t, std::span<T>(out));
    return out;
  }
  /// Like read_as, after checking the tensor's shape equals `expected_shape` exactly.
  template <st_readable T>
  std::vector<T> read_as(std::string_view name, std::span<const index_t> expected_shape) const {
    detail::check_expected_shape("safetensors", label(), at(name), expected_shape);
    return read_as<T>(name);
  }
  template <st_readable T>
  std::vector<T> read_as(std::string_view name, std::initializer_list<index_t> expected_shape) const {
    return read_as<T>(name, std::span<const index_t>(expected_shape.begin(), expected_shape.size()));
  }
  /// Converts tensor `name` into caller storage of exactly numel() elements (no allocation).
  template <st_readable T>
  void read_into(std::string_view name, std::span<T> out) const {
    detail::read_tensor_into<T>("safetensors", label(), at(name), out);
  }

  /// Zero-copy typed view: the dtype must be exactly st_dtype_of<T> and the data aligned for T (files written
  /// by the reference writer, and by safetensors_writer, align every tensor to its element size).
  template <class T>
  std::span<const T> view(std::string_view name) const {
    static_assert(std::endian::native == std::endian::little,
                  "sanawm::io: zero-copy views need a little-endian host");
    const st_tensor& t = at(name);
    if (t.dtype != st_dtype_of<T>)
      throw make_error("safetensors", label(), ": tensor '", detail::printable_key(name), "' is ",
                       st_dtype_name(t.dtype), ", not ", st_dtype_name(st_dtype_of<T>),
                       " (use read_as to convert)");
    if (reinterpret_cast<std::uintptr_t>(t.data) % alignof(T) != 0)
      throw make_error("safetensors", label(), ": tensor '", detail::printable_key(name),
                       "' is not aligned for a zero-copy view (use read_as)");
    return {reinterpret_cast<const T*>(t.data), t.nbytes / sizeof(T)};
  }

 private:
  static safetensors_file parse(mapped_file file);

  mapped_file file_;
  tensor_map tensors_;
  std::map<std::string, std::string> metadata_;
};

inline safetensors_file safetensors_file::parse(mapped_file file) {
  const std::string& label = file.label();
  auto fail = [&](const auto&... parts) -> error { return make_error("safetensors", label, ": ", parts...); };
  const std::span<const std::byte> bytes = file.bytes();
  if (bytes.size() < 8)
    throw fail("file is ", bytes.size(), " bytes, shorter than the 8-byte header length field");
  const std::uint64_t header_len = detail::load_le<std::uint64_t>(bytes.data());
  const std::uint64_t available = bytes.size() - 8;
  if (header_len > available)
    throw fail("header length ", header_len, " exceeds the ", available, " bytes after the length field");
  if (header_len > detail::st_max_header_bytes)
    throw fail("header length ", header_len, " exceeds the limit of ", detail::st_max_header_bytes, " bytes");
  if (header_len < 2) throw fail("header length ", header_len, " is too small for a JSON object");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + 8),
                                static_cast<std::size_t>(header_len));
  // The format requires the header to start with '{'; padding after the object may only be whitespace
  // (the JSON parser enforces that part).
  if (header.front() != '{') throw fail("header does not start with '{'");
  json_parse_options opts;
  opts.max_depth = 8;  // {tensor: {shape: [...]}} is depth 3; anything deeper is not a safetensors header
  const json root = parse_json(header, "safetensors", label, opts);
  if (!root.is_object()) throw fail("header is a JSON ", root.type_name(), ", not an object");

  const std::size_t data_size = static_cast<std::size_t>(available - header_len);
  const std::byte* data = bytes.data() + 8 + header_len;

  safetensors_file out;
  struct span_rec {
    std::uint64_t begin, end;
    const std::string* name;
  };
  std::vector<span_rec> spans;
  spans.reserve(root.size());
  for (const auto& [key, value] : root.items()) {
    const std::string shown = detail::printable_key(key);
    if (key == "__metadata__") {
      if (!value.is_object()) throw fail("__metadata__ is a JSON ", value.type_name(), ", not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          throw fail("__metadata__ value of '", detail::printable_key(mk), "' is a ", mv.type_name(),
                     ", not a string");
        out.metadata_.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    if (!value.is_object())
      throw fail("entry '", shown, "' is a JSON ", value.type_name(), ", not an object");
    for (const auto& [field, unused] : value.items()) {
      (void)unused;
      if (field != "dtype" && field != "shape" && field != "data_offsets")
        throw fail("tensor '", shown, "' has an unknown field '", detail::printable_key(field), "'");
    }
    const std::string ctx = str_cat(label, ": tensor '", shown, "'");
    const auto dtype_name = json_get<std::string>(value, "dtype", "safetensors", ctx);
    const auto dtype = st_dtype_from_name(dtype_name);
    if (!dtype)
      throw fail("tensor '", shown, "' has unknown or unsupported dtype '", detail::printable_key(dtype_name),
                 "'");
    const auto shape = json_get<std::vector<index_t>>(value, "shape", "safetensors", ctx);
    for (std::size_t i = 0; i < shape.size(); ++i)
      if (shape[i] < 0) throw fail("tensor '", shown, "' has negative extent ", shape[i], " at axis ", i);
    const auto offsets = json_get<std::vector<std::uint64_t>>(value, "data_offsets", "safetensors", ctx);
    if (offsets.size() != 2)
      throw fail("tensor '", shown, "': data_offsets has ", offsets.size(),
                 " entries, expected [begin, end]");
    const std::uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end) throw fail("tensor '", shown, "': data_offsets begin ", begin, " > end ", end);
    if (end > data_size)
      throw fail("tensor '", shown, "': data_offsets end ", end, " beyond the ", data_size,
                 "-byte data section");
    const auto nbytes = detail::checked_nbytes(shape, st_dtype_size(*dtype));
    if (!nbytes)
      throw fail("tensor '", shown, "': shape ", shape_string(shape), " overflows the addressable size");
    if (*nbytes != end - begin)
      throw fail("tensor '", shown, "': ", dtype_name, " ", shape_string(shape), " needs ", *nbytes,
                 " bytes but data_offsets [", begin, ", ", end, ") span ", end - begin);
    st_tensor t;
    t.name = key;
    t.dtype = *dtype;
    t.shape = shape;
    t.data = data + begin;
    t.nbytes = *nbytes;
    auto [it, inserted] = out.tensors_.emplace(key, std::move(t));
    (void)inserted;  // keys are unique: parse_json rejected duplicates
    spans.push_back({begin, end, &it->first});
  }

  // The tensors must tile the data section exactly: no overlap (two tensors aliasing bytes), no gap and no
  // trailing bytes (the reference implementation rejects both, so such files come from broken writers).
  std::sort(spans.begin(), spans.end(), [](const span_rec& a, const span_rec& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t cursor = 0;
  const std::string* prev = nullptr;
  for (const span_rec& s : spans) {
    if (s.begin < cursor)
      throw fail("tensor '", detail::printable_key(*s.name), "' [", s.begin, ", ", s.end,
                 ") overlaps tensor '", detail::printable_key(*prev), "' which ends at ", cursor);
    if (s.begin > cursor)
      throw fail("gap of ", s.begin - cursor, " bytes before tensor '", detail::printable_key(*s.name),
                 "' at data offset ", cursor, " (tensors must cover the data section contiguously)");
    cursor = s.end;
    prev = s.name;
  }
  if (cursor != data_size)
    throw fail(data_size - cursor, " bytes of trailing data after the last tensor (data section is ",
               data_size, " bytes, tensors cover ", cursor, ")");
  out.file_ = std::move(file);
  return out;
}

/// Builds a safetensors file in memory: tensors are laid out by descending element size, then name, so
/// every tensor is aligned to its element size (as the reference writer does) without gaps.
class safetensors_writer {
 public:
  /// Adds raw little-endian bytes; `bytes.size()` must equal numel(shape) · st_dtype_size(dtype).
  void add(std::string name, st_dtype dtype, std::vector<index_t> shape, std::span<const std::byte> bytes) {
    const auto need = detail::checked_nbytes(shape, st_dtype_size(dtype));
    if (name.empty() || name == "__metadata__")
      throw make_error("safetensors_writer", "invalid tensor name '", name, "'");
    if (!need)
      throw make_error("safetensors_writer", "tensor '", name, "': invalid shape ", shape_string(shape));
    if (*need != bytes.size())
      throw make_error("safetensors_writer", "tensor '", name, "': ", st_dtype_name(dtype), " ",
                       shape_string(shape), " needs ", *need, " bytes, got ", bytes.size());
    if (entries_.contains(name)) throw make_error("safetensors_writer", "duplicate tensor name '", name, "'");
    entries_.emplace(std::move(name), entry{dtype, std::move(shape), {bytes.begin(), bytes.end()}});
  }
  /// Adds host values; the dtype is st_dtype_of<T> (float → F32, bf16 → BF16, int64_t → I64, ...).
  template <class T>
  void add(std::string name, std::vector<index_t> shape, std::span<const T> values) {
    std::vector<std::byte> bytes(values.size_bytes());
    if constexpr (std::endian::native == std::endian::little || sizeof(T) == 1) {
      if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    } else {
      static_assert(std::endian::native == std::endian::little,
                    "sanawm::io: big-endian hosts are not supported");
    }
    add(std::move(name), st_dtype_of<T>, std::move(shape), std::span<const std::byte>(bytes));
  }
  template <class T>
  requires(!std::is_same_v<T, bool>)  // std::vector<bool> is not contiguous; pass a span of bool instead
      void add(std::string name, std::vector<index_t> shape, const std::vector<T>& values) {
    add<T>(std::move(name), std::move(shape), std::span<const T>(values));
  }

  /// Sets one "__metadata__" entry.
  void set_metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }
  std::map<std::string, std::string>& metadata() noexcept { return metadata_; }

  /// The complete file.
  std::vector<std::byte> to_bytes() const {
    std::vector<const std::pair<const std::string, entry>*> order;
    for (const auto& kv : entries_) order.push_back(&kv);
    std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) {
      return st_dtype_size(a->second.dtype) > st_dtype_size(b->second.dtype);
    });
    json header = json::object();
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    std::uint64_t offset = 0;
    for (const auto* kv : order) {
      const std::uint64_t n = kv->second.bytes.size();
      header[kv->first] = {{"dtype", st_dtype_name(kv->second.dtype)},
                           {"shape", kv->second.shape},
                           {"data_offsets", {offset, offset + n}}};
      offset += n;
    }
    std::string text;
    try {
      text = header.dump();
    } catch (const json::exception& e) {
      throw make_error("safetensors_writer",
                       "cannot encode the header: ", detail::strip_nlohmann_prefix(e.what()));
    }
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
    std::vector<std::byte> out(8 + text.size() + offset);
    detail::store_le<std::uint64_t>(out.data(), text.size());
    std::memcpy(out.data() + 8, text.data(), text.size());
    std::byte* p = out.data() + 8 + text.size();
    for (const auto* kv : order) {
      if (!kv->second.bytes.empty()) std::memcpy(p, kv->second.bytes.data(), kv->second.bytes.size());
      p += kv->second.bytes.size();
    }
    return out;
  }

  /// Writes the file (through a temporary file and a rename).
  void write(const std::filesystem::path& path) const {
    const auto bytes = to_bytes();
    write_file_bytes(path, bytes, "safetensors_writer");
  }

 private:
  struct entry {
    st_dtype dtype;
    std::vector<index_t> shape;
    std::vector<std::byte> bytes;
  };
  std::map<std::string, entry> entries_;
  std::map<std::string, std::string> metadata_;
};

/// A checkpoint split into shards: `model.safetensors.index.json` = {"metadata": {...}, "weight_map":
/// {tensor: shard file}}. Shards are opened lazily on first access (thread-safe) and stay mapped. The same
/// class also wraps a single .safetensors file, so model loaders take one type for both.
class safetensors_index {
 public:
  safetensors_index() = default;
  safetensors_index(safetensors_index&&) noexcept = default;
  safetensors_index& operator=(safetensors_index&&) noexcept = default;

  /// Opens `path`: an index .json, a single .safetensors file, or a directory holding exactly one
  /// `*.safetensors.index.json` (preferred) or exactly one `*.safetensors`.
  /// Index files are validated: "weight_map" must be an object of string values naming plain relative
  /// files inside the index's directory (no absolute paths, no ".."); "metadata" values of any JSON type are
  /// kept as strings (numbers as their JSON text).
  static safetensors_index open(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec)) return open(find_in_directory(path));
    const std::string name = path.filename().string();
    if (name.ends_with(".json")) return open_index_json(path);
    safetensors_index out;
    out.path_ = path;
    out.dir_ = path.parent_path();
    auto file = std::make_unique<safetensors_file>(safetensors_file::open(path));
    for (const auto& n : file->names()) out.weight_map_.emplace(n, name);
    out.metadata_ = file->metadata();
    out.state_ = std::make_unique<state>();
    out.state_->shards.emplace(name, std::move(file));
    return out;
  }

  /// Validates index JSON `text` as if read from `index_path` (shards resolve next to it) without opening
  /// any shard; `open` on an index file is read_json_file + this. Used by tools and the fuzz targets.
  static safetensors_index parse_index(std::string_view text, const std::filesystem::path& index_path) {
    return from_index_json(parse_json(text, "safetensors_index", index_path.string()), index_path);
  }

  bool contains(std::string_view name) const { return weight_map_.find(name) != weight_map_.end(); }

  /// The tensor `name`, opening its shard on first use.
  const st_tensor& at(std::string_view name) const {
    auto it = weight_map_.find(name);
    if (it == weight_map_.end())
      detail::throw_missing_tensor("safetensors_index", path_.string(), name, weight_map_);
    const safetensors_file& f = shard_file(it->second);
    if (!f.contains(name))
      throw make_error("safetensors_index", path_.string(), ": the index maps '", detail::printable_key(name),
                       "' to shard '", it->second, "', which does not contain it");
    return f.at(name);
  }

  /// All tensor names of the checkpoint, sorted.
  /// Releases the resident pages of tensor `name` after its bytes have been consumed (see mapped_file::drop_pages).
  void drop_pages(std::string_view name) const {
    auto it = weight_map_.find(name);
    if (it == weight_map_.end()) return;
    const safetensors_file& f = shard_file(it->second);
    if (f.contains(name)) f.drop_pages(f.at(name));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(weight_map_.size());
    for (const auto& kv : weight_map_) out.push_back(kv.first);
    return out;
  }
  std::size_t size() const noexcept { return weight_map_.size(); }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  /// The shard file name (relative to the index directory) holding `name`.
  const std::string& shard_of(std::string_view name) const {
    auto it = weight_map_.find(name);
    if (it == weight_map_.end())
      detail::throw_missing_tensor("safetensors_index", path_.string(), name, weight_map_);
    return it->second;
  }
  /// The distinct shard files, sorted, as full paths.
  std::vector<std::filesystem::path> shard_paths() const {
    std::vector<std::string> files;
    for (const auto& kv : weight_map_) files.push_back(kv.second);
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    std::vector<std::filesystem::path> out;
    for (const auto& f : files) out.push_back(dir_ / f);
    return out;
  }

  template <st_readable T>
  std::vector<T> read_as(std::string_view name) const {
    const st_tensor& t = at(name);
    std::vector<T> out(static_cast<std::size_t>(t.numel()));
    detail::read_tensor_into<T>("safetensors_index", path_.string(), t, std::span<T>(out));
    return out;
  }
  template <st_readable T>
  std::vector<T> read_as(std::string_view name, std::span<const index_t> expected_shape) const {
    detail::check_expected_shape("safetensors_index", path_.string(), at(name), expected_shape);
    return read_as<T>(name);
  }
  template <st_readable T>
  std::vector<T> read_as(std::string_view name, std::initializer_list<index_t> expected_shape) const {
    return read_as<T>(name, std::span<const index_t>(expected_shape.begin(), expected_shape.size()));
  }
  template <st_readable T>
  void read_into(std::string_view name, std::span<T> out) const {
    detail::read_tensor_into<T>("safetensors_index", path_.string(), at(name), out);
  }

  /// Opens every shard and checks that the index and the shards agree exactly: each listed tensor is in
  /// its shard, and no shard holds a tensor the index does not map to it.
  void verify() const {
    std::map<std::string, std::size_t> per_shard;
    for (const auto& [name, shard] : weight_map_) {
      (void)at(name);
      ++per_shard[shard];
    }
    for (const auto& [shard, count] : per_shard) {
      const safetensors_file& f = shard_file(shard);
      if (f.size() != count) {
        for (const auto& n : f.names()) {
          auto it = weight_map_.find(n);
          if (it == weight_map_.end() || it->second != shard)
            throw make_error("safetensors_index", path_.string(), ": shard '", shard, "' holds tensor '",
                             detail::printable_key(n), "' that the index does not map to it");
        }
      }
    }
  }

 private:
  struct state {
    std::mutex mu;
    std::map<std::string, std::unique_ptr<safetensors_file>, std::less<>> shards;
  };

  static std::filesystem::path find_in_directory(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    std::vector<fs::path> indices, files;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string n = e.path().filename().string();
      if (n.ends_with(".safetensors.index.json"))
        indices.push_back(e.path());
      else if (n.ends_with(".safetensors"))
        files.push_back(e.path());
    }
    if (indices.size() == 1) return indices.front();
    if (indices.empty() && files.size() == 1) return files.front();
    throw make_error("safetensors_index", dir.string(),
                     ": expected exactly one *.safetensors.index.json or one ",
                     "*.safetensors in the directory, found ", indices.size(), " index files and ",
                     files.size(), " safetensors files; pass the file itself");
  }

  static safetensors_index open_index_json(const std::filesystem::path& path) {
    return from_index_json(read_json_file(path, "safetensors_index"), path);
  }

  static safetensors_index from_index_json(const json& root, const std::filesystem::path& path) {
    const std::string label = path.string();
    if (!root.is_object())
      throw make_error("safetensors_index", label, ": expected a JSON object, got ", root.type_name());
    safetensors_index out;
    out.path_ = path;
    out.dir_ = path.parent_path();
    if (const json* md = json_find(root, "metadata", "safetensors_index", label); md && !md->is_null()) {
      if (!md->is_object())
        throw make_error("safetensors_index", label, ": \"metadata\" is a ", md->type_name(),
                         ", not an object");
      for (const auto& [k, v] : md->items())
        out.metadata_.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
    const json& wm = json_at(root, "weight_map", "safetensors_index", label);
    if (!wm.is_object())
      throw make_error("safetensors_index", label, ": \"weight_map\" is a ", wm.type_name(),
                       ", not an object");
    for (const auto& [k, v] : wm.items()) {
      if (!v.is_string())
        throw make_error("safetensors_index", label, ": weight_map entry '", detail::printable_key(k),
                         "' is a ", v.type_name(), ", not a file name");
      const std::string file = v.get<std::string>();
      const std::filesystem::path rel(file);
      bool ok = !file.empty() && rel.is_relative() && !rel.has_root_name();
      for (const auto& part : rel)
        if (part == "..") ok = false;
      if (!ok)
        throw make_error("safetensors_index", label, ": weight_map entry '", detail::printable_key(k),
                         "' names shard '", detail::printable_key(file),
                         "'; shards must be relative paths inside the index directory");
      out.weight_map_.emplace(k, file);
    }
    out.state_ = std::make_unique<state>();
    return out;
  }

  const safetensors_file& shard_file(const std::string& shard) const {
    std::lock_guard lock(state_->mu);
    auto it = state_->shards.find(shard);
    if (it == state_->shards.end())
      it = state_->shards
               .emplace(shard, std::make_unique<safetensors_file>(safetensors_file::open(dir_ / shard)))
               .first;
    return *it->second;
  }

  std::filesystem::path path_, dir_;
  std::map<std::string, std::string, std::less<>> weight_map_;
  std::map<std::string, std::string> metadata_;
  std::unique_ptr<state> state_;
};

}  // namespace sanawm::io
