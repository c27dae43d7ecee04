# SPDX-License-Identifier: Apache-2.0
# tests/text/make_golden.py — builds the text-encoder golden data: a Gemma-like tokenizer (SentencePiece model +
# its Hugging Face tokenizer.json), token ids of tricky strings, a tiny random Gemma2Model and its hidden states.
#
# Maintainers only (tests read the committed files). Run through make_golden.sh, which builds the venv.
# Hub downloads are impossible here, so the tokenizer is trained in this script with Gemma's SentencePiece
# settings (BPE, byte fallback, no dummy prefix, split digits, whitespace kept, pad/eos/bos/unk = 0/1/2/3).
import json
import os
import random
import sys

import numpy as np
import sentencepiece as spm
import torch
from safetensors.numpy import save_file
from transformers import Gemma2Config, Gemma2Model, GemmaTokenizerFast

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "golden")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
random.seed(0)

# ---- tokenizer -----------------------------------------------------------------------------------------------
corpus_lines = []
words = ("a cat sleeping on a warm sunny windowsill surrounded by pots of blooming red flowers "
         "bustling city street at dusk glowing lamps diverse crowd colorful clothing double-decker bus "
         "towering glass skyscrapers camera moves forward through the forest river mountain snow "
         "the quick brown fox jumps over the lazy dog 0123456789 given user prompt enhanced detailed "
         "visual descriptions suitable for image generation evaluate level of detail").split()
for i in range(4000):
    n = random.randint(3, 20)
    line = " ".join(random.choice(words) for _ in range(n))
    if i % 7 == 0:
        line = line.capitalize() + "."
    if i % 11 == 0:
        line += "  " + str(random.randint(0, 100000))
    if i % 13 == 0:
        line = "- User Prompt: " + line + " -> Enhanced:"
    corpus_lines.append(line)
corpus_lines += ["café naïve résumé", "東京 の 街", "Ünïcödé", "\tindented\tline"] * 20
corpus_path = os.path.join(OUT, "..", "corpus.tmp.txt")
with open(corpus_path, "w", encoding="utf-8") as f:
    f.write("\n".join(corpus_lines) + "\n")

model_prefix = os.path.join(OUT, "tokenizer")
spm.SentencePieceTrainer.train(
    input=corpus_path,
    model_prefix=model_prefix,
    model_type="bpe",
    vocab_size=600,
    character_coverage=0.9995,
    byte_fallback=True,
    split_digits=True,
    add_dummy_prefix=False,
    remove_extra_whitespaces=False,
    allow_whitespace_only_pieces=True,
    normalization_rule_name="identity",
    split_by_whitespace=True,
    pad_id=0, eos_id=1, bos_id=2, unk_id=3,
    pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
    user_defined_symbols=["<start_of_turn>", "<end_of_turn>", "\n", "\n\n"],
    hard_vocab_limit=False,
)
os.remove(corpus_path)
os.remove(model_prefix + ".vocab")
sp = spm.SentencePieceProcessor(model_file=model_prefix + ".model")

# The upstream pipeline uses AutoTokenizer → GemmaTokenizerFast (tokenizer.json); build it from the .model with
# transformers' own GemmaConverter, as the Hub files were made. transformers 5.x's GemmaSentencePieceExtractor
# reads a `.sp` attribute it never sets, so give it one. The post-processor adds <bos> like the Hub file.
import transformers.convert_slow_tokenizer as cst
from tokenizers import processors

_extractor_init = cst.GemmaSentencePieceExtractor.__init__


def _extractor_init_with_sp(self, model):
    _extractor_init(self, model)
    self.sp = spm.SentencePieceProcessor(model_file=model)


cst.GemmaSentencePieceExtractor.__init__ = _extractor_init_with_sp


# The converter reads only these attributes of a "slow" tokenizer; this object supplies them for our tiny model.
class _SlowTokenizerFields:
    vocab_file = model_prefix + ".model"
    add_prefix_space = None
    pad_token, eos_token, bos_token, unk_token = "<pad>", "<eos>", "<bos>", "<unk>"


backend = cst.GemmaConverter(_SlowTokenizerFields()).converted()
backend.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B",
                                                       special_tokens=[("<bos>", 2)])
hf_tok = GemmaTokenizerFast(tokenizer_object=backend, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                            unk_token="<unk>")
hf_tok.padding_side = "right"
hf_tok.backend_tokenizer.save(os.path.join(OUT, "tokenizer.json"))

long_text = " ".join(random.choice(words) for _ in range(700))
strings = [
    "",
    "a",
    "A cat sleeping",
    "hello world",
    " leading space",
    "trailing space ",
    "multiple   spaces\tand\ttabs",
    "line one\nline two\n\nline four",
    "digits 1234567890 and 3.14159",
    "café naïve résumé",
    "東京の街を歩く",
    "emoji 🐱🌆 and 👩‍👩‍👧 family",
    "mixed 😀 ünïcödé \u00a0 nbsp",
    "<start_of_turn>user\nhi<end_of_turn>",
    "zzzqqq xyzzy",
    "\u200b zero width",
    "<bos>literal <eos> control <pad> tokens<unk>",
    "\r\n windows \r line\x00nul",
    long_text,
]
tok_cases = []
mismatch = 0
for s in strings:
    sp_ids = [sp.bos_id()] + sp.encode(s)
    hf_ids = hf_tok(s)["input_ids"]
    if sp_ids != hf_ids:
        mismatch += 1
        print("sentencepiece and tokenizers disagree on", repr(s[:40]), sp_ids[:20], hf_ids[:20])
    tok_cases.append({"text": s, "ids": hf_ids, "sp_ids": sp_ids})
print("tokenizer cases:", len(tok_cases), "sentencepiece/tokenizers mismatches:", mismatch)

# ---- tiny Gemma-2 ----------------------------------------------------------------------------------------------
cfg = Gemma2Config(
    vocab_size=sp.get_piece_size(),
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=3,
    num_attention_heads=2,
    num_key_value_heads=1,
    head_dim=32,
    query_pre_attn_scalar=24,
    sliding_window=5,
    attn_logit_softcapping=2.0,  # small so the tanh actually bends the logits of a random model
    final_logit_softcapping=30.0,
    rms_norm_eps=1e-6,
    rope_theta=10000.0,
    max_position_embeddings=512,
    pad_token_id=0, eos_token_id=1, bos_token_id=2,
    hidden_activation="gelu_pytorch_tanh",
)
cfg._attn_implementation = "eager"  # the reference semantics (soft-capping); sdpa would drop the cap
model = Gemma2Model(cfg).eval().float()
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("norm.weight") or "layernorm" in name:
            p.copy_(torch.randn_like(p) * 0.3)  # (1 + w) convention: non-zero w makes it observable
        else:
            p.copy_(torch.randn_like(p) * 0.15)
state = {"model." + k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
save_file(state, os.path.join(OUT, "gemma2_tiny.safetensors"))
with open(os.path.join(OUT, "gemma2_tiny_config.json"), "w") as f:
    json.dump({k: v for k, v in cfg.to_dict().items()
               if k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                        "num_attention_heads", "num_key_value_heads", "head_dim", "query_pre_attn_scalar",
                        "sliding_window", "attn_logit_softcapping", "final_logit_softcapping", "rms_norm_eps",
                        "rope_theta", "max_position_embeddings", "hidden_activation", "layer_types")},
              f, indent=1)

# ---- hidden states: plain padded prompts and the SANA-WM assembly with a short CHI prefix -----------------------
def hidden(ids, mask):
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), attention_mask=torch.tensor([mask]))
    return out.last_hidden_state[0].numpy().astype(np.float32)

golden = {}
meta = {"tokenizer": tok_cases, "hidden": [], "prompt": []}
for i, (text, length) in enumerate([("A cat sleeping", 12), ("multiple   spaces and 🐱 emoji", 24),
                                    ("the quick brown fox jumps over the lazy dog " * 3, 16)]):
    enc = hf_tok(text, max_length=length, padding="max_length", truncation=True)
    golden[f"hidden{i}.ids"] = np.array(enc["input_ids"], dtype=np.int64)
    golden[f"hidden{i}.mask"] = np.array(enc["attention_mask"], dtype=np.int64)
    golden[f"hidden{i}.y"] = hidden(enc["input_ids"], enc["attention_mask"])
    meta["hidden"].append({"text": text, "max_length": length})

# SANA-WM's _encode_prompts with a test-sized budget (max_sequence_length 20 instead of 300).
chi_lines = ["Given a user prompt, enhance it:", "User Prompt: "]
chi = "\n".join(chi_lines)
max_seq = 20
for i, (text, use_chi) in enumerate([("A cat sleeping", True), ("", False),
                                     ("a bustling city street at dusk " * 4, True)]):
    full = chi + text if use_chi else text
    length = (len(hf_tok.encode(chi)) + max_seq - 2) if use_chi else max_seq
    enc = hf_tok(full, max_length=length, padding="max_length", truncation=True)
    y = hidden(enc["input_ids"], enc["attention_mask"])
    sel = [0] + list(range(length - max_seq + 1, length))
    golden[f"prompt{i}.ids"] = np.array(enc["input_ids"], dtype=np.int64)
    golden[f"prompt{i}.y"] = y[sel]
    golden[f"prompt{i}.mask"] = np.array(enc["attention_mask"], dtype=np.int64)[sel]
    meta["prompt"].append({"text": text, "chi": use_chi, "max_length": length})
meta["chi_lines"] = chi_lines
meta["max_sequence_length"] = max_seq
save_file(golden, os.path.join(OUT, "gemma2_tiny_io.safetensors"))
with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
    json.dump(meta, f, ensure_ascii=False, indent=1)
print("wrote", OUT)
