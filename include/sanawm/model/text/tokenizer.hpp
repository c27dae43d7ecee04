// SPDX-License-Identifier: Apache-2.0
// sanawm/model/text/tokenizer.hpp — the Gemma tokenizer: upstream tokenizer.model through SentencePiece's C++
// library (with Hugging Face's special-token splitting) or tokenizer.json through sanawm's BPE reader; either way
// the ids equal GemmaTokenizerFast's.
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/text/tokenizer.hpp: host-only header (SentencePiece, file I/O); include from .cpp files"
#endif

#include <algorithm>    // std::sort, std::min
#include <cstdint>      // std::int32_t
#include <filesystem>   // std::filesystem::path
#include <map>          // std::map
#include <memory>       // std::shared_ptr
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <vector>       // std::vector

// SentencePiece is optional (target sanawm::text links it). Without its header this file still compiles and
// gemma_tokenizer reads tokenizer.json only.
// Defining SANAWM_HAS_SENTENCEPIECE=0 builds the tokenizer.json-only variant even where the header exists.
#if !defined(SANAWM_HAS_SENTENCEPIECE)
#if __has_include(<sentencepiece_processor.h>)
#define SANAWM_HAS_SENTENCEPIECE 1
#else
#define SANAWM_HAS_SENTENCEPIECE 0
#endif
#endif
#if SANAWM_HAS_SENTENCEPIECE
#include <sentencepiece_processor.h>
#endif

#include "sanawm/core/error.hpp"               // make_error
#include "sanawm/model/text/hf_tokenizer.hpp"  // hf_bpe_tokenizer: the tokenizer.json reader

namespace sanawm::text {

/// Token ids of one text, padded/truncated to a fixed length the way `tokenizer(text, max_length=L,
/// padding="max_length", truncation=True)` does with padding_side = "right".
struct token_batch {
  std::vector<std::int32_t> ids;   ///< [L]
  std::vector<std::int32_t> mask;  ///< [L], 1 for real tokens, 0 for padding
  std::int64_t length = 0;         ///< real tokens (BOS included) after truncation
  bool truncated = false;          ///< the text had more than L tokens; the tail was dropped
};

/// Gemma's tokenizer, from either file of a Hugging Face repo: the SentencePiece `tokenizer.model` through
/// SentencePiece's C++ library (Debian's libsentencepiece-dev, the reference implementation: Gemma's
/// tokenizer.json is a conversion of this very model), or `tokenizer.json` through sanawm's own reader of the
/// `tokenizers` BPE format (hf_tokenizer.hpp), which needs no library. Both give GemmaTokenizerFast's ids
/// (tests/text checks every golden string with each, and the two against each other on random text).
///
/// The SentencePiece front end differs from Hugging Face's in one place, text that spells a special token
/// ("<bos>", "<eos>", "<pad>", "<unk>", Gemma's "<mask>"/"<unusedN>" control pieces): Hugging Face matches those
/// strings as added tokens before tokenising, SentencePiece treats them as plain text. `encode` splits them out
/// first, as Hugging Face does. The tokenizer.json reader gets this from the file's added_tokens.
class gemma_tokenizer {
 public:
  /// Loads `path`: a tokenizer.model, a tokenizer.json, or a directory holding either (tokenizer.model preferred
  /// when sanawm has SentencePiece). Throws "[tokenizer] …" when the file is missing, malformed or unsupported.
  static gemma_tokenizer load(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path file = path;
    if (fs::is_directory(path, ec)) {
      const bool model = fs::exists(path / "tokenizer.model", ec), json = fs::exists(path / "tokenizer.json", ec);
      if (model && (SANAWM_HAS_SENTENCEPIECE || !json)) file = path / "tokenizer.model";
      else if (json) file = path / "tokenizer.json";
      else throw make_error("tokenizer", path.string(), ": no tokenizer.model or tokenizer.json in this directory");
    } else if (!fs::exists(path, ec)) {
      throw make_error("tokenizer", path.string(), ": file not found");
    }
    gemma_tokenizer t;
    if (file.extension() == ".json") {
      t.json_ = std::make_shared<const hf_bpe_tokenizer>(hf_bpe_tokenizer::load(file));
      t.bos_ = t.json_->template_bos_id() >= 0 ? t.json_->template_bos_id() : t.json_->token_id("<bos>");
      t.eos_ = t.json_->token_id("<eos>");
      t.pad_ = t.json_->token_id("<pad>");
      return t;
    }
#if SANAWM_HAS_SENTENCEPIECE
    t.sp_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
    const auto st = t.sp_->Load(file.string());
    if (!st.ok())
      throw make_error("tokenizer", file.string(), ": not a SentencePiece model (", st.ToString(), ")");
    t.bos_ = t.sp_->bos_id();
    t.eos_ = t.sp_->eos_id();
    t.pad_ = t.sp_->pad_id();
    t.init_specials();
    return t;
#else
    throw make_error("tokenizer", file.string(),
                     ": sanawm was built without SentencePiece (Debian: libsentencepiece-dev; link sanawm::text), so "
                     "it reads tokenizer.json only; pass the tokenizer.json of the same repo");
#endif
  }

  /// Which file the ids come from: "sentencepiece" (tokenizer.model) or "tokenizer.json".
  const char* backend() const noexcept { return json_ ? "tokenizer.json" : "sentencepiece"; }
  std::int32_t vocab_size() const {
#if SANAWM_HAS_SENTENCEPIECE
    if (sp_) return sp_->GetPieceSize();
#endif
    return json_->vocab_size();
  }
  std::int32_t bos_id() const { return bos_; }
  std::int32_t eos_id() const { return eos_; }
  /// The padding id; Gemma defines <pad> = 0. A model without one pads with 0 as well (masked anyway).
  std::int32_t pad_id() const { return pad_ >= 0 ? pad_ : 0; }
  std::string piece(std::int32_t id) const {
#if SANAWM_HAS_SENTENCEPIECE
    if (sp_) return sp_->IdToPiece(id);
#endif
    return json_->token(id);
  }

  /// Token ids of `text` (UTF-8), with BOS first when `add_bos` (GemmaTokenizerFast's default) and no EOS.
  /// Invalid UTF-8 is tokenised as U+FFFD replacement characters (what SentencePiece does with it).
  std::vector<std::int32_t> encode(std::string_view text, bool add_bos = true) const {
    std::vector<std::int32_t> out;
    if (add_bos && bos_id() >= 0) out.push_back(bos_id());
    if (json_) {
      const auto ids = json_->encode(text);
      out.insert(out.end(), ids.begin(), ids.end());
      return out;
    }
    std::size_t start = 0, i = 0;
    while (i < text.size()) {
      std::size_t len = 0;
      const std::int32_t sid = special_at(text, i, len);
      if (sid < 0) {
        ++i;
        continue;
      }
      encode_plain(text.substr(start, i - start), out);
      out.push_back(sid);
      i += len;
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
#if SANAWM_HAS_SENTENCEPIECE
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

  std::int32_t special_at(std::string_view text, std::size_t i, std::size_t& len) const {
    auto it = by_first_byte_.find(static_cast<unsigned char>(text[i]));
    if (it == by_first_byte_.end()) return -1;
    for (const auto& [p, id] : it->second)
      if (text.substr(i, p.size()) == p) {
        len = p.size();
        return id;
      }
    return -1;
  }

  std::shared_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::map<unsigned char, std::vector<std::pair<std::string, std::int32_t>>> by_first_byte_;
#else
  // Without SentencePiece only tokenizer.json loads (json_ is always set), so these are never reached.
  void encode_plain(std::string_view, std::vector<std::int32_t>&) const {
    throw make_error("tokenizer", "built without SentencePiece");
  }
  std::int32_t special_at(std::string_view, std::size_t, std::size_t&) const { return -1; }
#endif
  std::shared_ptr<const hf_bpe_tokenizer> json_;
  std::int32_t bos_ = -1, eos_ = -1, pad_ = -1;
};

}  // namespace sanawm::text
