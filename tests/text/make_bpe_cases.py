#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# tests/text/make_bpe_cases.py — the oracle of sanawm's tokenizer.json reader (model/text/hf_tokenizer.hpp): token
# ids computed by Hugging Face `tokenizers` (the Rust library GemmaTokenizerFast runs on) for
#   1. the golden tiny Gemma tokenizer.json, on 400 random strings built from tricky fragments, and
#   2. variants of that file (each a set of field overrides) that exercise what Gemma does not use but the reader
#      accepts: Metaspace/Split pre-tokenizers and their behaviours, Prepend normalizers, unknown-token fusing
#      without byte fallback, ignore_merges, added tokens with lstrip/rstrip/single_word/normalized, the old
#      "a b" merge format.
# Writes golden/bpe_cases.json (the overrides + texts + ids; the base file is golden/tokenizer.json).
# Usage: make_bpe_cases.py GOLDEN_DIR   (needs `pip install tokenizers`; maintainers only)
import copy
import zlib
import json
import pathlib
import random
import sys

from tokenizers import Tokenizer

golden = pathlib.Path(sys.argv[1])
base = json.loads((golden / "tokenizer.json").read_text())

FRAGMENTS = ["a", "cat", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "sleeping", "glass", "warm", "user", "hello",
             "world", "1234", "3.14", "é", "naïve", "東京", "の", "🐱", "👩\u200d👧", "\u200b", "\xa0", "<bos>", "<eos>",
             "<pad>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>", "zzq", "xyzzy", "A", "B", "!", "?",
             ",", ".", "'", "\"", "_", "-", "▁", "colorful", "evaluate", "\x00", "ü", "ñ"]


def random_texts(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(0, 12)
        out.append("".join(rng.choice(FRAGMENTS) for _ in range(k)))
    return out


def ids_for(tok_json, texts):
    tok = Tokenizer.from_str(json.dumps(tok_json))
    return [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]


def apply(over):
    j = copy.deepcopy(base)
    for path, value in over.items():
        node = j
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return j


texts = random_texts(400, 2026)
cases = {"gemma_random": ids_for(base, texts), "variants": []}

added_extra = base["added_tokens"] + [
    {"id": 601, "content": "glass", "single_word": True, "lstrip": False, "rstrip": False, "normalized": False,
     "special": False},
    {"id": 602, "content": "<end_of_turn>x", "single_word": False, "lstrip": True, "rstrip": True,
     "normalized": False, "special": True},
    {"id": 603, "content": "hello world", "single_word": False, "lstrip": False, "rstrip": False,
     "normalized": True, "special": False},
]
space = {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}
variants = {
    "metaspace_first_split": {"normalizer": None,
                              "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                                                "prepend_scheme": "first", "split": True}},
    "metaspace_always_nosplit": {"normalizer": None,
                                 "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581",
                                                   "prepend_scheme": "always", "split": False}},
    "split_isolated": {"normalizer": None, "pre_tokenizer": {"type": "Split", "pattern": {"String": " "},
                                                             "behavior": "Isolated", "invert": False}},
    "split_removed": {"normalizer": None, "pre_tokenizer": {"type": "Split", "pattern": {"String": " "},
                                                            "behavior": "Removed", "invert": False}},
    "split_merged_with_next": {"normalizer": None,
                               "pre_tokenizer": {"type": "Split", "pattern": {"String": " "},
                                                 "behavior": "MergedWithNext", "invert": False}},
    "split_contiguous_sequence": {"normalizer": None, "pre_tokenizer": {
        "type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": " "}, "behavior": "Contiguous", "invert": False},
            {"type": "Split", "pattern": {"String": "a"}, "behavior": "MergedWithPrevious", "invert": False}]}},
    "prepend_normalizer": {"normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"}, space]}, "pre_tokenizer": None},
    "unk_fused_no_fallback": {"model.byte_fallback": False, "model.fuse_unk": True},
    "unk_unfused_no_fallback": {"model.byte_fallback": False, "model.fuse_unk": False},
    "ignore_merges": {"model.ignore_merges": True, "pre_tokenizer": {"type": "Split", "pattern": {"String": "\u2581"},
                                                                     "behavior": "MergedWithNext", "invert": False}},
    "added_token_flags": {"added_tokens": added_extra},
    "old_merge_format": {"model.merges": [" ".join(m) for m in base["model"]["merges"] if " " not in "".join(m)]},
}
extra = ["glass of glassy glass", "a <end_of_turn>x  b", "hello world hello  world", "  lead", "x  <end_of_turn>x",
         "unknown 🐱 chars ü 東京 end", "cat" * 30, "a a a a", ""]
for name, over in variants.items():
    j = apply(over)
    cases["variants"].append({"name": name, "set": over, "cases": ids_for(j, random_texts(60, zlib.crc32(name.encode())) + extra)})

(golden / "bpe_cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=None))
print(f"wrote {golden / 'bpe_cases.json'}: {len(cases['gemma_random'])} + "
      f"{sum(len(v['cases']) for v in cases['variants'])} cases in {len(variants)} variants")
