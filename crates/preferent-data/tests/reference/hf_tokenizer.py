"""Independent reference for preferent-data's HuggingFace `tokenizers` feature.

Run: .venv/bin/python crates/preferent-data/tests/reference/hf_tokenizer.py   (needs `pip install tokenizers`;
generated with tokenizers 0.23.3 from PyPI)
Trains a tiny byte-level BPE (GPT-2 style) on a fixed corpus, writes it to
tests/fixtures/tiny_bpe_tokenizer.json and prints the ids the Python library gives for a few
strings; those ids are pasted into tests/hf_tokenizer.rs. Nothing here calls the Rust code.
"""
import json, os
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "tiny_bpe_tokenizer.json")

corpus = [
    "The quick brown fox jumps over the lazy dog.",
    "Sort the digits: 3 1 2 -> 1 2 3",
    "Preference optimisation prefers the chosen answer to the rejected one.",
    "hello world, hello preference, hello world again",
    "Ünïcödé text and emoji 🙂 must round-trip.",
] * 20

tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=400,
    special_tokens=["<|pad|>", "<|bos|>", "<|eos|>"],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
)
tok.train_from_iterator(corpus, trainer)
tok.save(OUT, pretty=False)

print("vocab_size", tok.get_vocab_size(with_added_tokens=True))
for name in ["<|pad|>", "<|bos|>", "<|eos|>"]:
    print(name, tok.token_to_id(name))
for s in ["hello world", "Sort the digits: 9 7 8", "Ünïcödé 🙂", " leading space", ""]:
    ids = tok.encode(s, add_special_tokens=False).ids
    print(json.dumps(s), ids, json.dumps(tok.decode(ids)))
