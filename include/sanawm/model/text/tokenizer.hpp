// SPDX-License-Identifier: Apache-2.0
// sanawm/model/text/tokenizer.hpp — the Gemma tokenizer: upstream tokenizer.model through SentencePiece's C++
// library, with Hugging Face's special-token splitting so ids equal GemmaTokenizerFast's (tokenizer.json).
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/text/tokenizer.hpp: host-only header (SentencePiece, file I/O); include from .cpp files"
#endif

#include <algorithm>    // std::sort, std::min
#include <cstdint>      // std::int32_t
#include <filesystem>   // std::filesystem::path
#include <map>          // std::map
#include <memory>       // std::unique_ptr
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

// SentencePiece is optional for the rest of sanawm (target sanawm::text links it). Without its header this
// file still compiles (header tests, consumers that never tokenise) and gemma_tokenizer::load throws.
#if __has_include(<sentencepiece_processor.h>)
#include <sentencepiece_processor.h>
#define SANAWM_HAS_SENTENCEPIECE 1
#else
#define SANAWM_HAS_SENTENCEPIECE 0
#endif

#include "sanawm/core/error.hpp"  // make_error

namespace sanawm::text {

/// Token ids of one text, padded/truncated to a fixed length the way `tokenizer(text, max_length=L,
/// padding="max_length", truncation=True)` does with padding_side = "right".
struct token_batch {
  std::vector<std::int32_t> ids;   ///< [L]
  std::vector<std::int32_t> mask;  ///< [L], 1 for real tokens, 0 for padding
  std::int64_t length = 0;         ///< real tokens (BOS included) after truncation
  bool truncated = false;          ///< the text had more than L tokens; the tail was dropped
};

#if SANAWM_HAS_SENTENCEPIECE

/// Gemma's tokenizer. Loads the SentencePiece `tokenizer.model` of a Hugging Face repo (a path to the file or
/// to the directory holding it). Why SentencePiece and not a tokenizer.json reader: Gemma's tokenizer.json is
/// a conversion of this very model (BPE, byte fallback, "▁" whitespace, no normaliser), and SentencePiece's
/// library is the reference implementation packaged by Debian, so ids match without re-implementing BPE.
///
/// The one place the two front ends differ is text that spells a special token ("<bos>", "<eos>", "<pad>",
/// "<unk>", Gemma's "<mask>"/"<unusedN>" control pieces): the Hugging Face tokenizer matches those strings as
/// added tokens before tokenising, SentencePiece treats them as plain text. `encode` splits them out first,
/// as Hugging Face does, so both front ends give the same ids (tests/text checks every golden string).
class gemma_tokenizer {
 public:
  /// Loads `path` (tokenizer.model, or a directory containing it). Throws "[tokenizer] …" when the file is
  /// missing or is not a SentencePiece model.
  static gemma_tokenizer load(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path file = path;
    if (fs::is_directory(path, ec)) {
      file = path / "tokenizer.model";
      if (!fs::exists(file, ec)) {
        if (fs::exists(path / "tokenizer.json", ec))
          throw make_error(
              "tokenizer", path.string(),
              ": holds tokenizer.json but no tokenizer.model; sanawm reads the SentencePiece model "
              "(both ship in the Hugging Face Gemma repos)");
        throw make_error("tokenizer", path.string(), ": no tokenizer.model in this directory");
      }
    } else if (!fs::exists(path, ec)) {
      throw make_error("tokenizer", path.string(), ": file not found");
    } else if (path.extension() == ".json") {
      throw make_error("tokenizer", path.string(),
                       ": tokenizer.json is not read directly; pass the tokenizer.model next to it");
    }
    gemma_tokenizer t;
    t.sp_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto st = t.sp_->Load(file.string());
    if (!st.ok())
      throw make_error("tokenizer", file.string(), ": not a SentencePiece model (", st.ToString(), ")");
    t.init_specials();
    return t;
  }

  std::int32_t vocab_size() const { return sp_->GetPieceSize(); }
  std::int32_t bos_id() const { return sp_->bos_id(); }
  std::int32_t eos_id() const { return sp_->eos_id(); }
  /// The padding id; Gemma defines <pad> = 0. A model without one pads with 0 as well (masked anyway).
  std::int32_t pad_id() const { return sp_->pad_id() >= 0 ? sp_->pad_id() : 0; }
  std::string piece(std::int32_t id) const { return sp_->IdToPiece(id); }

  /// Token ids of `text` (UTF-8), with BOS first when `add_bos` (GemmaTokenizerFast's default) and no EOS.
  /// Invalid UTF-8 is tokenised the way SentencePiece does (byte fallback of the U+FFFD replacement).
  std::vector<std::int32_t> encode(std::string_view text, bool add_bos = true) const {
    std::vector<std::int32_t> out;
    if (add_bos && bos_id() >= 0) out.push_back(bos_id());
    std::size_t start = 0, i = 0;
    while (i < text.size()) {
      const std::int32_t sid = special_at(text, i);
      if (sid < 0) {
        ++i;
        continue;
      }
      encode_plain(text.substr(start, i - start), out);
      out.push_back(sid);
      i += sp_->IdToPiece(sid).size();
      start = i;
    }
    encode_plain(text.substr(start), out);
    return out;
  }

  /// `encode(text)` truncated to `max_length` tokens (keeping the head, BOS included) and right-padded with
  /// pad_id(): Hugging Face's padding="max_length", truncation=True.
  token_batch encode_padded(std::string_view text, std::int64_t max_length, bool add_bos = true) const {
    if (max_length <= 0) throw make_error("tokenizer", "max_length ", max_length, " must be positive");
    auto ids = encode(text, add_bos);
    token_batch b;
    b.truncated = static_cast<std::int64_t>(ids.size()) > max_length;
    b.length = std::min<std::int64_t>(static_cast<std::int64_t>(ids.size()), max_length);
    b.ids.assign(static_cast<std::size_t>(max_length), pad_id());
    b.mask.assign(static_cast<std::size_t>(max_length), 0);
    for (std::int64_t i = 0; i < b.length; ++i) {
      b.ids[static_cast<std::size_t>(i)] = ids[static_cast<std::size_t>(i)];
      b.mask[static_cast<std::size_t>(i)] = 1;
    }
    return b;
  }

 private:
  void encode_plain(std::string_view s, std::vector<std::int32_t>& out) const {
    if (s.empty()) return;
    std::vector<int> ids;
    const auto st = sp_->Encode(std::string(s), &ids);
    if (!st.ok()) throw make_error("tokenizer", "SentencePiece failed to encode: ", st.ToString());
    out.insert(out.end(), ids.begin(), ids.end());
  }

  // Pieces Hugging Face registers as special added tokens: control pieces and the unknown piece. Matched
  // longest-first at each byte, as the added-token splitter does (its leftmost-longest automaton).
  void init_specials() {
    for (int id = 0; id < sp_->GetPieceSize(); ++id) {
      if (!(sp_->IsControl(id) || sp_->IsUnknown(id))) continue;
      const std::string p = sp_->IdToPiece(id);
      if (!p.empty()) by_first_byte_[static_cast<unsigned char>(p[0])].emplace_back(p, id);
    }
    for (auto& [b, list] : by_first_byte_)
      std::sort(list.begin(), list.end(),
                [](const auto& a, const auto& c) { return a.first.size() > c.first.size(); });
  }

  std::int32_t special_at(std::string_view text, std::size_t i) const {
    auto it = by_first_byte_.find(static_cast<unsigned char>(text[i]));
    if (it == by_first_byte_.end()) return -1;
    for (const auto& [p, id] : it->second)
      if (text.substr(i, p.size()) == p) return id;
    return -1;
  }

  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::map<unsigned char, std::vector<std::pair<std::string, std::int32_t>>> by_first_byte_;
};
#else  // !SANAWM_HAS_SENTENCEPIECE

/// Stand-in when SentencePiece is not installed: same API, every entry point throws.
class gemma_tokenizer {
 public:
  [[noreturn]] static gemma_tokenizer load(const std::filesystem::path& path) {
    throw make_error(
        "tokenizer", path.string(),
        ": sanawm was built without SentencePiece (Debian: libsentencepiece-dev; link sanawm::text)");
  }
  std::int32_t vocab_size() const { fail(); }
  std::int32_t bos_id() const { fail(); }
  std::int32_t eos_id() const { fail(); }
  std::int32_t pad_id() const { fail(); }
  std::string piece(std::int32_t) const { fail(); }
  std::vector<std::int32_t> encode(std::string_view, bool = true) const { fail(); }
  token_batch encode_padded(std::string_view, std::int64_t, bool = true) const { fail(); }

 private:
  [[noreturn]] static void fail() { throw make_error("tokenizer", "built without SentencePiece"); }
};

#endif  // SANAWM_HAS_SENTENCEPIECE

}  // namespace sanawm::text
