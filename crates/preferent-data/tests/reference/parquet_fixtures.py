"""Parquet fixtures for preferent-data's `parquet` feature, written by pyarrow (the writer the
HuggingFace hub uses), next to the JSONL each must read as.

Run: .venv/bin/python crates/preferent-data/tests/reference/parquet_fixtures.py
(pyarrow 26.0.1 from PyPI). Writes tests/fixtures/parquet/*.parquet and *.expected.jsonl; the
Rust test reads both and asserts the records are equal. Parquet columns are typed, so a field a
row lacks is stored as null; the expected JSONL therefore omits null-valued keys (the reader
treats a null field as absent, as `datasets` does). Nothing here calls the Rust code.
"""
import json, os
import pyarrow as pa, pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "parquet")
os.makedirs(OUT, exist_ok=True)

def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v

def write(name, rows, **kw):
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, os.path.join(OUT, name + ".parquet"), **kw)
    with open(os.path.join(OUT, name + ".expected.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(strip(r), ensure_ascii=False) + "\n")
    print(name, table.schema.to_string().replace("\n", "; "))

standard = [
    {"id": "p0", "prompt": "What is 2+2?", "chosen": " 4", "rejected": " 5",
     "tags": {"topic": "math", "attack": None}, "score_chosen": 9.0, "score_rejected": 2.5},
    {"id": "p1", "prompt": "Say hi in French.", "chosen": " Bonjour !", "rejected": " Hola",
     "tags": {"topic": "language", "attack": "none"}, "score_chosen": None, "score_rejected": None},
    {"id": None, "prompt": "Naïve café? 🙂", "chosen": " Oui — très bien.", "rejected": " No.",
     "tags": None, "score_chosen": 1.0, "score_rejected": -1.0},
    {"id": "p3", "prompt": "", "chosen": "x" * 300, "rejected": "",
     "tags": {"topic": None, "attack": "roleplay"}, "score_chosen": 0.5, "score_rejected": 0.25},
    {"id": "p4", "prompt": "multi\nline", "chosen": "a\tb", "rejected": "\"quoted\"",
     "tags": None, "score_chosen": None, "score_rejected": None},
]
# Snappy (pyarrow's default, what the hub's datasets use), two rows per row group.
write("pairs_standard", standard, row_group_size=2)

conversational = [
    {"id": "c0",
     "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
     "chosen": [{"role": "assistant", "content": "Paris."}],
     "rejected": [{"role": "assistant", "content": "Lyon."}]},
    {"id": "c1",
     "prompt": [{"role": "user", "content": "hi"}],
     "chosen": [{"role": "assistant", "content": "hello"}],
     "rejected": [{"role": "assistant", "content": "go away"}]},
]
write("pairs_conversational", conversational, compression="gzip")

unpaired = [
    {"prompt": "Is water wet?", "completion": " Yes.", "label": True},
    {"prompt": "Is fire cold?", "completion": " Yes.", "label": False},
]
write("unpaired", unpaired, compression="none")

ranked = [
    {"prompt": "Best fruit?", "responses": [
        {"response": "apple", "score": 2.0}, {"response": "banana", "score": 5.0},
        {"response": "cherry", "score": 3.5}]},
]
write("ranked", ranked)

# Typed but not valid as pairs: row 2 has a null `chosen`, row 3 a null `rejected`.
bad = [
    {"prompt": "ok", "chosen": "a", "rejected": "b"},
    {"prompt": "no chosen", "chosen": None, "rejected": "b"},
    {"prompt": "no rejected", "chosen": "a", "rejected": None},
    {"prompt": "ok again", "chosen": "c", "rejected": "d"},
]
pq.write_table(pa.Table.from_pylist(bad), os.path.join(OUT, "pairs_bad.parquet"))
print("pairs_bad rows", len(bad))
