"""Independent reference for preferent-data's golden tests.

Run: python3 crates/preferent-data/tests/reference/generate.py
Re-implements, in plain Python, the published algorithms (SplitMix64, FNV-1a) and TRL's
collation / truncation semantics, reading the fixtures under tests/fixtures/. Its printed values
are pasted into the Rust tests; nothing here calls the Rust code.
"""
import json, os, struct
from itertools import combinations

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures")
M64 = (1 << 64) - 1

# ---------------- SplitMix64 (Vigna, splitmix64.c) ----------------
class SplitMix64:
    def __init__(self, seed): self.s = seed & M64
    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)
    def next_f64(self): return (self.next_u64() >> 11) * 2.0**-53
    def below(self, n): return (self.next_u64() * n) >> 64
    def shuffle(self, xs):
        for i in range(len(xs) - 1, 0, -1):
            j = self.below(i + 1); xs[i], xs[j] = xs[j], xs[i]

r = SplitMix64(0)
print("splitmix64 seed 0 first 3:", [hex(r.next_u64()) for _ in range(3)])
r = SplitMix64(42)
print("splitmix64 seed 42 f64 x3:", [repr(r.next_f64()) for _ in range(3)])
r = SplitMix64(7); xs = list(range(10)); r.shuffle(xs)
print("shuffle(0..10) seed 7:", xs)

# ---------------- FNV-1a 64 ----------------
def fnv1a(b, h=0xcbf29ce484222325):
    for x in b: h = ((h ^ x) * 0x100000001b3) & M64
    return h
print("fnv1a('') =", hex(fnv1a(b"")), " fnv1a('a') =", hex(fnv1a(b"a")), " fnv1a('foobar') =", hex(fnv1a(b"foobar")))

def load(name):
    return [json.loads(l) for l in open(os.path.join(FIX, name), encoding="utf-8") if l.strip()]

def canonical(rec):
    rec = dict(rec)
    if isinstance(rec.get("id"), (int, float)): rec["id"] = str(rec["id"])
    if "tags" in rec and not rec["tags"]: del rec["tags"]
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

def fingerprint(kind, recs):
    h = fnv1a(kind.encode())
    h = fnv1a(struct.pack("<Q", len(recs)), h)
    for r in recs:
        b = canonical(r)
        h = fnv1a(struct.pack("<Q", len(b)), h); h = fnv1a(b, h)
    return h
print("fingerprint(pairs_standard) =", hex(fingerprint("pair", load("pairs_standard.jsonl"))))

# ---------------- collation (TRL DataCollatorForPreference semantics) ----------------
BOS, EOS, PAD = 256, 257, 258
def enc(s): return list(s.encode("utf-8"))
def trunc(p, c, mp, ml, mode):
    if mp is not None and len(p) > mp:
        p = p[:mp] if mode == "start" else p[len(p) - mp:]
    seq = [(t, 0) for t in p] + [(t, 1) for t in c]
    if ml is not None and len(seq) > ml:
        seq = seq[:ml] if mode == "start" else seq[len(seq) - ml:]
    return seq
def collate(pairs, mp, ml, mode):
    rows_c, rows_r, cut_seq, cut_tok = [], [], 0, 0
    for rec in pairs:
        p = [BOS] + enc(rec["prompt"])
        for comp, rows in ((rec["chosen"], rows_c), (rec["rejected"], rows_r)):
            c = enc(comp) + [EOS]
            s = trunc(p, c, mp, ml, mode)
            lost = len(p) + len(c) - len(s)
            cut_seq += lost > 0; cut_tok += lost
            rows.append(s)
    rows = rows_c + rows_r
    T = max(len(s) for s in rows)
    ids = [[t for t, _ in s] + [PAD] * (T - len(s)) for s in rows]
    cm = [[m for _, m in s] + [0] * (T - len(s)) for s in rows]
    return T, ids, cm, [len(s) for s in rows], cut_seq, cut_tok
pairs = load("pairs_standard.jsonl")[:2]
for mode in ("start", "end"):
    T, ids, cm, lens, cs, ct = collate(pairs, 8, 14, mode)
    print(f"collate keep_{mode} mp=8 ml=14: T={T} lengths={lens} truncated_seqs={cs} truncated_tokens={ct}")
    for row in ids: print("  ids", row)
    for row in cm: print("  cm ", row)

# ---------------- ChatML rendering ----------------
def chatml_prompt(msgs):
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs) + "<|im_start|>assistant\n"
conv = load("pairs_conversational.jsonl")[0]
print("chatml prompt:", json.dumps(chatml_prompt(conv["prompt"])))
print("chatml chosen:", json.dumps(conv["chosen"][0]["content"] + "<|im_end|>\n"))

# ---------------- label flips, split ----------------
r = SplitMix64(123)
print("flip mask n=16 eps=0.5 seed=123:", [int(r.next_f64() < 0.5) for _ in range(16)])
r = SplitMix64(5); perm = list(range(10)); r.shuffle(perm)
print("split n=10 frac=0.3 seed=5 test indices:", sorted(perm[:round(10 * 0.3)]))

# ---------------- ranked -> pairs, curriculum ----------------
ranked = load("ranked.jsonl")
def pref(rec, i):
    rs = rec["responses"]
    if all("score" in x for x in rs): return rs[i]["score"]
    return -rs[i]["rank"]
all_pairs, bve = [], []
for rec in ranked:
    order = sorted(range(len(rec["responses"])), key=lambda i: -pref(rec, i))  # stable
    for a, b in combinations(range(len(order)), 2):
        ci, ri = order[a], order[b]
        if pref(rec, ci) != pref(rec, ri):
            all_pairs.append((rec["id"], ci, ri, pref(rec, ci) - pref(rec, ri), rec["prompt"]))
            if a == 0: bve.append(f"{rec['id']}:{ci}>{ri}")
print("all pairs:", [f"{i}:{c}>{r}" for i, c, r, _, _ in all_pairs])
print("best vs each:", bve)
cur = sorted(all_pairs, key=lambda p: -p[3])  # stable
print("curriculum:", [f"{i}:{c}>{r}" for i, c, r, _, _ in cur])
levels = {}
out = []
for p in cur:
    lv = levels.get(p[4], 0); levels[p[4]] = lv + 1
    while len(out) <= lv: out.append([])
    out[lv].append(f"{p[0]}:{p[1]}>{p[2]}")
print("per-prompt levels:", out)

# ---------------- per-tag ASR ----------------
safety = load("safety.jsonl")
acc = {}
for s in safety:
    k = s.get("tags", {}).get("attack_style")
    n, t = acc.get(k, (0, 0)); acc[k] = (n + 1, t + s["attack_success"])
for k in sorted([k for k in acc if k is not None]) + [None]:
    n, t = acc[k]; print(f"ASR attack_style={k}: n={n} mean={t / n!r}")
print("ASR overall:", sum(s["attack_success"] for s in safety) / len(safety))

# ---------------- implicit prompt (TRL extract_prompt semantics, as documented in Rust) ----------------
def extract(c, r):
    m = min(len(c), len(r))
    i = next((k for k in range(m) if c[k] != r[k]), max(m - 1, 0))
    if isinstance(c, str) and 0 < i < m and c[i - 1] == " " and c[i] != r[i]:
        i -= 1
    return c[:i], c[i:], r[i:]
for c, r in [("The sky is blue.", "The sky is green."), ("Ça va bien", "Ça va mal"), ("abc", "abcd"), ("x", "y")]:
    print("extract", json.dumps([c, r], ensure_ascii=False), "->", json.dumps(extract(c, r), ensure_ascii=False))
