// SPDX-License-Identifier: Apache-2.0
// sanawm/model/text/hf_tokenizer.hpp — a reader of Hugging Face `tokenizer.json` files with a BPE model (the
// format of Gemma's, and of every SentencePiece-BPE conversion): added-token splitting, the literal Replace /
// Prepend normalizers, the Split / Metaspace pre-tokenizers and the BPE model with byte fallback, computed as the
// `tokenizers` library (Rust) computes them, so ids match GemmaTokenizerFast exactly. Anything else in a
// tokenizer.json (regex patterns, Unicode normalisation forms, WordPiece/Unigram models, BPE dropout) is refused
// with an error naming it, never approximated.
#pragma once
#if defined(__CUDACC__)
#error "sanawm/model/text/hf_tokenizer.hpp: host-only header (file I/O); include it from .cpp files"
#endif

#include <algorithm>      // std::min
#include <array>          // std::array
#include <cstdint>        // std::int32_t, std::uint64_t
#include <filesystem>     // std::filesystem::path
#include <queue>          // std::priority_queue
#include <string>         // std::string
#include <string_view>    // std::string_view
#include <unordered_map>  // std::unordered_map
#include <utility>        // std::pair
#include <vector>         // std::vector

#include "sanawm/core/error.hpp"  // make_error
#include "sanawm/io/json.hpp"     // json, read_json_file

namespace sanawm::text {

namespace detail {

/// Length in bytes of the UTF-8 sequence starting at s[i], or 0 when it is not a valid, shortest-form sequence.
inline std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = b(i);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  if (n == 2 && c < 0xC2) return 0;                                    // overlong
  if (n == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;                // overlong
  if (n == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;               // UTF-16 surrogates
  if (n == 4 && ((c == 0xF0 && b(i + 1) < 0x90) || c > 0xF4 || (c == 0xF4 && b(i + 1) >= 0x90))) return 0;
  return n;
}

/// `s` with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD (the text a Python str can
/// hold; SentencePiece treats such input the same way).
inline std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

inline bool is_word_char(std::string_view s, std::size_t i) noexcept {  // ASCII alnum / '_', or any non-ASCII
  const auto c = static_cast<unsigned char>(s[i]);
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool is_space_char(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace detail

/// A tokenizer.json with a BPE model. `encode` returns the model's ids for the text (added tokens included) without
/// the post-processor's template: callers add BOS themselves (see gemma_tokenizer).
class hf_bpe_tokenizer {
 public:
  /// Reads `path` (a tokenizer.json). Throws "[tokenizer] <path>: …" naming what is missing or unsupported.
  static hf_bpe_tokenizer load(const std::filesystem::path& path) {
    return from_json(io::read_json_file(path, "tokenizer"), path.string());
  }

  static hf_bpe_tokenizer from_json(const io::json& j, const std::string& ctx) {
    hf_bpe_tokenizer t;
    t.ctx_ = ctx;
    if (!j.is_object()) t.fail("is not a JSON object");
    const io::json& model = t.member(j, "model", "the tokenizer");
    t.read_model(model);
    if (const io::json* added = io::json_find(j, "added_tokens", "tokenizer", ctx); added && !added->is_null())
      t.read_added(*added);
    if (const io::json* n = io::json_find(j, "normalizer", "tokenizer", ctx); n && !n->is_null()) t.read_normalizer(*n);
    if (const io::json* p = io::json_find(j, "pre_tokenizer", "tokenizer", ctx); p && !p->is_null())
      t.read_pre_tokenizer(*p);
    if (const io::json* p = io::json_find(j, "post_processor", "tokenizer", ctx); p && !p->is_null())
      t.read_post_processor(*p);
    // Normalised added tokens are matched against normalised text, so their own text is normalised too.
    for (std::size_t i = 0; i < t.added_.size(); ++i) {
      added_token& a = t.added_[i];
      a.match = a.normalized ? t.normalize(a.content) : a.content;
      if (!a.match.empty())
        t.by_first_byte_[a.normalized ? 1 : 0][static_cast<unsigned char>(a.match[0])].push_back(i);
    }
    return t;
  }

  /// Ids of `text` (UTF-8; invalid bytes become U+FFFD first).
  std::vector<std::int32_t> encode(std::string_view text) const {
    const std::string s = detail::valid_utf8(text);
    std::vector<std::int32_t> out;
    // 1. Added tokens matched on the raw text; 2. the rest normalised, then normalised added tokens matched.
    split_added(s, /*normalized=*/false, [&](std::string_view piece, std::size_t offset) {
      const std::string norm = normalize(piece);
      split_added(norm, /*normalized=*/true, [&](std::string_view p2, std::size_t off2) {
        // 3. Pre-tokenisation into words, 4. BPE per word.
        for (const std::string& w : pre_tokenize(p2, offset == 0 && off2 == 0)) bpe_word(w, out);
      }, out);
    }, out);
    return out;
  }

  /// Id of a token (vocabulary or added), or -1.
  std::int32_t token_id(std::string_view token) const {
    const auto it = vocab_.find(std::string(token));
    return it == vocab_.end() ? -1 : it->second;
  }
  /// The token of `id` (empty for ids that have none).
  const std::string& token(std::int32_t id) const {
    static const std::string none;
    return id >= 0 && static_cast<std::size_t>(id) < tokens_.size() ? tokens_[static_cast<std::size_t>(id)] : none;
  }
  /// One past the largest id.
  std::int32_t vocab_size() const { return static_cast<std::int32_t>(tokens_.size()); }
  /// The special token the post-processor puts first in a single sequence (Gemma: <bos>), else -1.
  std::int32_t template_bos_id() const { return template_bos_; }
  /// Whether `id` is an added token marked special (control tokens such as <bos>, <eos>, <pad>).
  bool is_special(std::int32_t id) const {
    for (const added_token& a : added_)
      if (a.id == id) return a.special;
    return false;
  }

 private:
  struct added_token {
    std::string content, match;  // match: what is searched for (content, normalised when `normalized`)
    std::int32_t id = -1;
    bool special = false, normalized = false, lstrip = false, rstrip = false, single_word = false;
  };
  struct norm_step {
    bool prepend = false;  // Prepend(a), else Replace(a → b)
    std::string a, b;
  };
  enum class split_behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };
  struct pre_step {
    bool metaspace = false;
    std::string pattern;  // Split: the literal; Metaspace: the replacement
    split_behavior behavior = split_behavior::isolated;
    int prepend = 0;      // Metaspace: 0 never, 1 first, 2 always
    bool split = true;    // Metaspace: split on the replacement
  };
  struct merge_info {
    std::int32_t rank = 0, id = 0;
  };

  [[noreturn]] void fail(const std::string& what) const { throw make_error("tokenizer", ctx_, ": ", what); }
  [[noreturn]] void unsupported(const std::string& what) const {
    fail(what + " is not supported by sanawm's tokenizer.json reader (BPE with literal Replace/Prepend "
                "normalizers and Split/Metaspace pre-tokenizers); pass the SentencePiece tokenizer.model instead");
  }
  const io::json& member(const io::json& obj, std::string_view key, std::string_view owner) const {
    const io::json* m = obj.is_object() ? io::json_find(obj, key, "tokenizer", ctx_) : nullptr;
    if (!m) fail(std::string(owner) + " has no '" + std::string(key) + "'");
    return *m;
  }
  std::string string_member(const io::json& obj, std::string_view key, std::string_view owner) const {
    const io::json& m = member(obj, key, owner);
    if (!m.is_string()) fail(std::string(owner) + ": '" + std::string(key) + "' is not a string");
    return m.get<std::string>();
  }
  bool bool_member(const io::json& obj, std::string_view key, bool fallback) const {
    const io::json* m = io::json_find(obj, key, "tokenizer", ctx_);
    if (!m || m->is_null()) return fallback;
    if (!m->is_boolean()) fail("'" + std::string(key) + "' is not a boolean");
    return m->get<bool>();
  }
  /// A pattern object {"String": "…"}; {"Regex": …} is refused.
  std::string literal_pattern(const io::json& p, std::string_view owner) const {
    if (p.is_object() && p.contains("String") && p.at("String").is_string()) return p.at("String").get<std::string>();
    if (p.is_object() && p.contains("Regex")) unsupported(std::string(owner) + " with a Regex pattern");
    fail(std::string(owner) + ": pattern is neither {\"String\": …} nor {\"Regex\": …}");
  }

  /// Ids index a dense table: a sparse id past this is a corrupt file, not a vocabulary (Gemma's is 256,000).
  static constexpr std::int32_t max_id = 1 << 24;

  void set_token(std::int32_t id, const std::string& tok) {
    if (id < 0) fail("token '" + tok + "' has a negative id");
    if (id >= max_id) fail("token '" + tok + "' has id " + std::to_string(id) + ", past the limit of " + std::to_string(max_id));
    if (static_cast<std::size_t>(id) >= tokens_.size()) tokens_.resize(static_cast<std::size_t>(id) + 1);
    tokens_[static_cast<std::size_t>(id)] = tok;
  }

  void read_model(const io::json& m) {
    const std::string type = m.contains("type") && m.at("type").is_string() ? m.at("type").get<std::string>() : "BPE";
    if (type != "BPE") unsupported("model type '" + type + "'");
    if (const io::json* d = io::json_find(m, "dropout", "tokenizer", ctx_);
        d && !d->is_null() && !(d->is_number() && d->get<double>() == 0.0))
      unsupported("BPE dropout");
    for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (const io::json* p = io::json_find(m, k, "tokenizer", ctx_);
          p && !p->is_null() && !(p->is_string() && p->get<std::string>().empty()))
        unsupported(std::string("BPE ") + k);
    byte_fallback_ = bool_member(m, "byte_fallback", false);
    fuse_unk_ = bool_member(m, "fuse_unk", false);
    ignore_merges_ = bool_member(m, "ignore_merges", false);
    const io::json& vocab = member(m, "vocab", "the BPE model");
    if (!vocab.is_object()) fail("model.vocab is not an object");
    for (const auto& [tok, id] : vocab.items()) {
      if (!id.is_number_integer()) fail("model.vocab['" + tok + "'] is not an integer id");
      const auto v = id.get<std::int64_t>();
      if (v < 0 || v >= max_id) fail("model.vocab['" + tok + "'] = " + std::to_string(v) + " is out of range");
      vocab_[tok] = static_cast<std::int32_t>(v);
      set_token(static_cast<std::int32_t>(v), tok);
    }
    if (const io::json* u = io::json_find(m, "unk_token", "tokenizer", ctx_); u && !u->is_null()) {
      if (!u->is_string()) fail("model.unk_token is not a string");
      const auto it = vocab_.find(u->get<std::string>());
      if (it == vocab_.end()) fail("model.unk_token '" + u->get<std::string>() + "' is not in the vocabulary");
      unk_id_ = it->second;
    }
    const io::json& merges = member(m, "merges", "the BPE model");
    if (!merges.is_array()) fail("model.merges is not an array");
    std::int32_t rank = 0;
    for (const io::json& e : merges) {
      std::string a, b;
      if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        a = e[0].get<std::string>();
        b = e[1].get<std::string>();
      } else if (e.is_string()) {  // the older "a b" form
        const std::string s = e.get<std::string>();
        const auto sp = s.find(' ');
        if (sp == std::string::npos) fail("merge '" + s + "' is not two tokens separated by a space");
        a = s.substr(0, sp);
        b = s.substr(sp + 1);
      } else {
        fail("merge #" + std::to_string(rank) + " is neither [\"a\", \"b\"] nor \"a b\"");
      }
      const auto ia = vocab_.find(a), ib = vocab_.find(b), ic = vocab_.find(a + b);
      if (ia == vocab_.end() || ib == vocab_.end())
        fail("merge #" + std::to_string(rank) + " ('" + a + "', '" + b + "') uses a token outside the vocabulary");
      if (ic == vocab_.end())
        fail("merge #" + std::to_string(rank) + " produces '" + a + b + "', which is not in the vocabulary");
      // A repeated pair keeps its last rank, as tokenizers' HashMap collect does.
      merges_.insert_or_assign(pair_key(ia->second, ib->second), merge_info{rank, ic->second});
      ++rank;
    }
  }

  /// The added tokens, with their ids assigned as tokenizers assigns them when it loads a file (the "id" fields
  /// are only checked there): a token the vocabulary (or an earlier added token) already has keeps that id, a new
  /// one gets the next id after the model vocabulary and the added ids so far. For the files tokenizers writes the
  /// two agree.
  void read_added(const io::json& list) {
    if (!list.is_array()) fail("added_tokens is not an array");
    const auto model_size = static_cast<std::int32_t>(vocab_.size());
    std::int32_t max_added = -1;
    for (const io::json& a : list) {
      added_token t;
      t.content = string_member(a, "content", "an added token");
      t.special = bool_member(a, "special", false);
      t.normalized = bool_member(a, "normalized", !t.special);
      t.lstrip = bool_member(a, "lstrip", false);
      t.rstrip = bool_member(a, "rstrip", false);
      t.single_word = bool_member(a, "single_word", false);
      if (t.content.empty()) continue;  // tokenizers ignores empty added tokens
      bool duplicate = false;
      for (const added_token& e : added_)
        duplicate = duplicate || (e.content == t.content && e.special == t.special && e.normalized == t.normalized &&
                                  e.lstrip == t.lstrip && e.rstrip == t.rstrip && e.single_word == t.single_word);
      if (duplicate) continue;
      if (const auto it = vocab_.find(t.content); it != vocab_.end()) {
        t.id = it->second;
      } else {
        t.id = max_added >= 0 && (max_added >= model_size || model_size == 0) ? max_added + 1 : model_size;
      }
      max_added = std::max(max_added, t.id);
      vocab_[t.content] = t.id;
      set_token(t.id, t.content);
      added_.push_back(std::move(t));
    }
  }

  void read_normalizer(const io::json& n) {
    const std::string type = string_member(n, "type", "the normalizer");
    if (type == "Sequence") {
      const io::json& list = member(n, "normalizers", "the Sequence normalizer");
      if (!list.is_array()) fail("normalizer.normalizers is not an array");
      for (const io::json& e : list) read_normalizer(e);
    } else if (type == "Replace") {
      norm_step st;
      st.a = literal_pattern(member(n, "pattern", "the Replace normalizer"), "the Replace normalizer");
      st.b = string_member(n, "content", "the Replace normalizer");
      if (st.a.empty()) fail("the Replace normalizer has an empty pattern");
      norms_.push_back(std::move(st));
    } else if (type == "Prepend") {
      norm_step st;
      st.prepend = true;
      st.a = string_member(n, "prepend", "the Prepend normalizer");
      norms_.push_back(std::move(st));
    } else {
      unsupported("the '" + type + "' normalizer");
    }
  }

  void read_pre_tokenizer(const io::json& p) {
    const std::string type = string_member(p, "type", "the pre_tokenizer");
    if (type == "Sequence") {
      const io::json& list = member(p, "pretokenizers", "the Sequence pre_tokenizer");
      if (!list.is_array()) fail("pre_tokenizer.pretokenizers is not an array");
      for (const io::json& e : list) read_pre_tokenizer(e);
    } else if (type == "Split") {
      pre_step st;
      st.pattern = literal_pattern(member(p, "pattern", "the Split pre_tokenizer"), "the Split pre_tokenizer");
      if (st.pattern.empty()) fail("the Split pre_tokenizer has an empty pattern");
      const std::string b = string_member(p, "behavior", "the Split pre_tokenizer");
      if (b == "Removed") st.behavior = split_behavior::removed;
      else if (b == "Isolated") st.behavior = split_behavior::isolated;
      else if (b == "MergedWithPrevious") st.behavior = split_behavior::merged_with_previous;
      else if (b == "MergedWithNext") st.behavior = split_behavior::merged_with_next;
      else if (b == "Contiguous") st.behavior = split_behavior::contiguous;
      else fail("the Split pre_tokenizer has an unknown behavior '" + b + "'");
      if (bool_member(p, "invert", false)) unsupported("the Split pre_tokenizer with invert = true");
      pres_.push_back(std::move(st));
    } else if (type == "Metaspace") {
      pre_step st;
      st.metaspace = true;
      st.pattern = string_member(p, "replacement", "the Metaspace pre_tokenizer");
      if (detail::utf8_length(st.pattern, 0) != st.pattern.size() || st.pattern.empty())
        fail("the Metaspace replacement must be one character");
      std::string scheme = "always";
      if (const io::json* s = io::json_find(p, "prepend_scheme", "tokenizer", ctx_); s && s->is_string())
        scheme = s->get<std::string>();
      else if (!bool_member(p, "add_prefix_space", true))
        scheme = "never";
      st.prepend = scheme == "never" ? 0 : scheme == "first" ? 1 : scheme == "always" ? 2 : -1;
      if (st.prepend < 0) fail("the Metaspace pre_tokenizer has an unknown prepend_scheme '" + scheme + "'");
      st.split = bool_member(p, "split", true);
      pres_.push_back(std::move(st));
    } else {
      unsupported("the '" + type + "' pre_tokenizer");
    }
  }

  void read_post_processor(const io::json& p) {
    const std::string type = string_member(p, "type", "the post_processor");
    if (type != "TemplateProcessing") return;  // other post-processors add nothing a single sequence needs here
    const io::json* single = io::json_find(p, "single", "tokenizer", ctx_);
    if (!single || !single->is_array() || single->empty()) return;
    const io::json& first = (*single)[0];
    if (first.is_object() && first.contains("SpecialToken") && first.at("SpecialToken").contains("id")) {
      const io::json& id = first.at("SpecialToken").at("id");
      if (id.is_string()) template_bos_ = token_id(id.get<std::string>());
    }
  }

  // ---- encoding ----------------------------------------------------------------------------------------------

  static std::uint64_t pair_key(std::int32_t a, std::int32_t b) noexcept {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }

  std::string normalize(std::string_view s) const {
    std::string cur(s);
    for (const norm_step& st : norms_) {
      if (st.prepend) {
        if (!cur.empty()) cur = st.a + cur;  // as tokenizers: nothing is prepended to an empty string
        continue;
      }
      std::string next;
      for (std::size_t i = 0;;) {
        const std::size_t f = cur.find(st.a, i);
        if (f == std::string::npos) {
          next.append(cur, i);
          break;
        }
        next.append(cur, i, f - i);
        next += st.b;
        i = f + st.a.size();
      }
      cur = std::move(next);
    }
    return cur;
  }

  /// Splits `s` on the added tokens whose `normalized` flag is `normalized` (leftmost, longest at a position, as
  /// the added-vocabulary matcher), emitting their ids into `out` and calling on_text(piece, offset) for the text
  /// between them, in order.
  template <class F>
  void split_added(std::string_view s, bool normalized, F&& on_text, std::vector<std::int32_t>& out) const {
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size();) {
      // Leftmost-longest, like the added vocabulary's Aho-Corasick matcher; a match that breaks its single_word
      // rule stays text and the search resumes after it (the matcher does not retry shorter tokens there).
      const added_token* best = nullptr;
      for (const std::size_t ai : by_first_byte_[normalized ? 1 : 0][static_cast<unsigned char>(s[i])]) {
        const added_token& a = added_[ai];
        if (a.match.size() > s.size() - i) continue;
        if (s.compare(i, a.match.size(), a.match) != 0) continue;
        if (!best || a.match.size() > best->match.size()) best = &a;
      }
      if (!best) {
        ++i;
        continue;
      }
      if (best->single_word && ((i > 0 && detail::is_word_char(s, i - 1)) ||
                                (i + best->match.size() < s.size() && detail::is_word_char(s, i + best->match.size())))) {
        i += best->match.size();
        continue;
      }
      std::size_t text_end = i, next = i + best->match.size();
      if (best->lstrip)
        while (text_end > start && detail::is_space_char(s[text_end - 1])) --text_end;
      if (best->rstrip)
        while (next < s.size() && detail::is_space_char(s[next])) ++next;
      if (text_end > start) on_text(s.substr(start, text_end - start), start);
      out.push_back(best->id);
      start = i = next;
    }
    if (start < s.size()) on_text(s.substr(start), start);
  }

  std::vector<std::string> pre_tokenize(std::string_view s, bool first_piece) const {
    std::vector<std::string> words{std::string(s)};
    for (const pre_step& st : pres_) {
      std::vector<std::string> next;
      for (std::size_t wi = 0; wi < words.size(); ++wi) {
        std::string w = words[wi];
        std::string pat = st.pattern;
        split_behavior behavior = st.behavior;
        if (st.metaspace) {
          std::string r;  // spaces → the replacement character
          for (char c : w) {
            if (c == ' ') r += st.pattern;
            else r += c;
          }
          w = std::move(r);
          const bool prepend = st.prepend == 2 || (st.prepend == 1 && first_piece && wi == 0);
          if (prepend && w.compare(0, st.pattern.size(), st.pattern) != 0) w = st.pattern + w;
          if (!st.split) {
            next.push_back(std::move(w));
            continue;
          }
          behavior = split_behavior::merged_with_next;
        }
        split_literal(w, pat, behavior, next);
      }
      words = std::move(next);
    }
    return words;
  }

  static void split_literal(const std::string& w, const std::string& pat, split_behavior b,
                            std::vector<std::string>& out) {
    std::vector<std::pair<std::size_t, bool>> cuts;  // piece boundaries: (end offset, piece is a match)
    std::size_t i = 0;
    while (i < w.size()) {
      const std::size_t f = w.find(pat, i);
      if (f == std::string::npos) break;
      if (f > i) cuts.emplace_back(f, false);
      cuts.emplace_back(f + pat.size(), true);
      i = f + pat.size();
    }
    if (i < w.size()) cuts.emplace_back(w.size(), false);
    std::vector<std::pair<std::string, bool>> pieces;
    std::size_t prev = 0;
    for (const auto& [end, match] : cuts) {
      pieces.emplace_back(w.substr(prev, end - prev), match);
      prev = end;
    }
    if (b == split_behavior::merged_with_next) {
      // A match joins the piece after it when that piece is not a match itself (tokenizers folds from the end).
      std::vector<std::string> rev;
      for (std::size_t k = pieces.size(); k-- > 0;) {
        const auto& [p, match] = pieces[k];
        if (match && k + 1 < pieces.size() && !pieces[k + 1].second) rev.back() = p + rev.back();
        else rev.push_back(p);
      }
      out.insert(out.end(), rev.rbegin(), rev.rend());
      return;
    }
    for (std::size_t k = 0; k < pieces.size(); ++k) {
      const auto& [p, match] = pieces[k];
      switch (b) {
        case split_behavior::removed:
          if (!match) out.push_back(p);
          break;
        case split_behavior::isolated: out.push_back(p); break;
        case split_behavior::contiguous:
          if (match && k > 0 && pieces[k - 1].second) out.back() += p;
          else out.push_back(p);
          break;
        case split_behavior::merged_with_previous:
          if (match && k > 0 && !pieces[k - 1].second) out.back() += p;
          else out.push_back(p);
          break;
        case split_behavior::merged_with_next: break;  // handled above
      }
    }
  }

  /// The BPE model on one word (tokenizers' BPE::merge_word + Word::merge_all): characters (or their byte
  /// tokens <0x00>…<0xFF>, or fused <unk>) as symbols, then the lowest-ranked adjacent pair merged first
  /// (leftmost on ties), until no pair of neighbours has a merge.
  void bpe_word(const std::string& w, std::vector<std::int32_t>& out) const {
    if (w.empty()) return;
    if (ignore_merges_)
      if (const auto it = vocab_.find(w); it != vocab_.end()) {
        out.push_back(it->second);
        return;
      }
    struct symbol {
      std::int32_t id;
      std::int32_t prev, next;
      bool live;
    };
    std::vector<symbol> sym;
    sym.reserve(w.size());
    auto add = [&](std::int32_t id) {
      const auto n = static_cast<std::int32_t>(sym.size());
      sym.push_back({id, n - 1, n + 1, true});
    };
    std::int32_t unk = -1;  // a pending (possibly fused) <unk>
    for (std::size_t i = 0; i < w.size();) {
      std::size_t n = detail::utf8_length(w, i);
      if (n == 0) n = 1;  // cannot happen after valid_utf8; keeps the loop total
      const std::string ch = w.substr(i, n);
      i += n;
      if (const auto it = vocab_.find(ch); it != vocab_.end()) {
        if (unk >= 0) add(unk), unk = -1;
        add(it->second);
        continue;
      }
      if (byte_fallback_) {
        std::vector<std::int32_t> bytes;
        for (unsigned char c : ch) {
          static const char* hex = "0123456789ABCDEF";
          const std::string code = std::string("<0x") + hex[c >> 4] + hex[c & 15] + ">";
          const auto it = vocab_.find(code);
          if (it == vocab_.end()) break;
          bytes.push_back(it->second);
        }
        if (bytes.size() == ch.size()) {  // like tokenizers, a pending <unk> is not flushed before the bytes
          for (std::int32_t b : bytes) add(b);
          continue;
        }
      }
      if (unk_id_ < 0) fail("character '" + ch + "' is not in the vocabulary and the model has no unk_token");
      if (unk >= 0 && !fuse_unk_) add(unk);
      unk = unk_id_;
    }
    if (unk >= 0) add(unk);
    if (sym.empty()) return;
    sym.back().next = -1;

    struct cand {
      std::int32_t rank, pos, id;
      bool operator<(const cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }  // min-heap
    };
    std::priority_queue<cand> q;
    auto push_pair = [&](std::int32_t pos) {
      const std::int32_t nx = sym[static_cast<std::size_t>(pos)].next;
      if (nx < 0) return;
      const auto it = merges_.find(pair_key(sym[static_cast<std::size_t>(pos)].id, sym[static_cast<std::size_t>(nx)].id));
      if (it != merges_.end()) q.push({it->second.rank, pos, it->second.id});
    };
    for (std::int32_t p = 0; p + 1 < static_cast<std::int32_t>(sym.size()); ++p) push_pair(p);
    while (!q.empty()) {
      const cand top = q.top();
      q.pop();
      symbol& s = sym[static_cast<std::size_t>(top.pos)];
      if (!s.live || s.next < 0) continue;
      symbol& r = sym[static_cast<std::size_t>(s.next)];
      // Stale entry: this position's pair changed since it was queued.
      const auto it = merges_.find(pair_key(s.id, r.id));
      if (it == merges_.end() || it->second.id != top.id) continue;
      s.id = top.id;
      r.live = false;
      s.next = r.next;
      if (r.next >= 0) sym[static_cast<std::size_t>(r.next)].prev = top.pos;
      if (s.prev >= 0) push_pair(s.prev);
      push_pair(top.pos);
    }
    for (const symbol& s : sym)
      if (s.live) out.push_back(s.id);
  }

  std::string ctx_;
  std::unordered_map<std::string, std::int32_t> vocab_;  // model vocabulary and added tokens
  std::vector<std::string> tokens_;                     // id → token
  std::unordered_map<std::uint64_t, merge_info> merges_;
  std::vector<added_token> added_;
  /// Indices into added_ by the first byte of their match, for raw [0] and normalised [1] text: the splitter
  /// looks only at the tokens that can start at a position (Gemma has hundreds of <unusedN> tokens).
  std::array<std::vector<std::size_t>, 256> by_first_byte_[2];
  std::vector<norm_step> norms_;
  std::vector<pre_step> pres_;
  std::int32_t unk_id_ = -1, template_bos_ = -1;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
};

}  // namespace sanawm::text
