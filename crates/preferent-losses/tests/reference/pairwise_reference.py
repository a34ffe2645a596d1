"""Independent numpy (float64) reference for preferent-losses' pairwise DPO family.

Written from the formulas in shared/reference/losses.md (TRL HEAD f2cd577 / v0.23.0, papers),
not from the Rust code. Prints Rust source for `src/pairwise/tests.rs`'s golden table:
for every case, the loss on the EXTREME batch (|log p| >= 500, must stay finite), the loss on
the MODERATE batch, and the central finite-difference gradient of the MODERATE loss with
respect to (policy_chosen, policy_rejected, ref_chosen, ref_rejected) (16 numbers).

Run: python3 crates/preferent-losses/tests/reference/pairwise_reference.py
"""
import numpy as np

BETA = 0.1
CAP = 80.0  # exponent cap of forward-KL / alpha scores (TRL HEAD's fp32 alpha cap)

EXTREME = dict(
    pc=[-12.0, -35.5, -610.0, -800.0],
    pr=[-14.5, -30.25, -520.0, -790.0],
    rc=[-13.0, -33.0, -1200.0, -805.0],
    rr=[-13.5, -31.0, -320.0, -1400.0],
    lw=[5.0, 12.0, 300.0, 410.0],
    ll=[7.0, 9.0, 280.0, 500.0],
    aw=[-0.5, -1.2, -0.05, -2.0],
    al=[-0.7, -0.3, -1.5, -0.1],
)
MODERATE = dict(
    pc=[-12.0, -20.5, -8.25, -15.0],
    pr=[-14.5, -18.25, -9.0, -15.0],
    rc=[-13.0, -19.0, -8.0, -16.5],
    rr=[-13.5, -19.75, -10.75, -14.25],
    lw=[4.0, 6.0, 3.0, 5.0],
    ll=[5.0, 4.0, 6.0, 3.0],
    aw=[-0.4, -0.9, -0.2, -1.1],
    al=[-0.6, -0.25, -0.8, -0.3],
)


def logsig(x):
    x = np.asarray(x, dtype=np.float64)
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def sig(x):
    return np.exp(logsig(x))


def score(r, fdiv, coef):
    if fdiv == "reverse_kl":
        return r
    if fdiv == "forward_kl":
        return -np.exp(np.minimum(-r, CAP))
    if fdiv == "js":
        return logsig(r)
    if fdiv == "alpha":
        if abs(coef - 1.0) < 1e-6:
            return r
        k = coef - 1.0
        return np.exp(np.minimum(k * r, CAP)) / k
    raise ValueError(fdiv)


def per_pair(kind, c, pc, pr, rc, rr, lw, ll):
    eps = c.get("eps", 0.0)
    b = BETA
    rw, rl = pc - rc, pr - rr
    if c.get("legacy_alpha") is not None:
        # Legacy TRL / f-DPO paper convention: logits = (e^{-a r_l} - e^{-a r_w}) / a
        a = c["legacy_alpha"]
        d = (np.exp(-a * rl) - np.exp(-a * rw)) / a
        sw = sl = None
    else:
        sw = score(rw, c.get("fdiv", "reverse_kl"), c.get("coef", 0.5))
        sl = score(rl, c.get("fdiv", "reverse_kl"), c.get("coef", 0.5))
        d = sw - sl
    z = b * d
    if kind == "sigmoid":
        return -(1 - eps) * logsig(z) - eps * logsig(-z)
    if kind == "hinge":
        return np.maximum(0.0, 1.0 - z)
    if kind == "ipo":
        return (sw / np.maximum(lw, 1) - sl / np.maximum(ll, 1) - 1.0 / (2 * b)) ** 2
    if kind == "exo_pair":
        qw, ql = 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(z))
        return qw * (logsig(z) - np.log(1 - eps)) + ql * (logsig(-z) - np.log(eps))
    if kind == "nca_pair":
        return -logsig(b * sw) - 0.5 * logsig(-b * sw) - 0.5 * logsig(-b * sl)
    if kind == "robust":
        return (-(1 - eps) * logsig(z) + eps * logsig(-z)) / (1 - 2 * eps)
    if kind == "bco_pair":
        dl = c.get("bco_delta", 0.0)
        return -logsig(b * sw - dl) - logsig(-(b * sl - dl))
    if kind == "sppo_hard":
        return (sw - 0.5 / b) ** 2 + (sl + 0.5 / b) ** 2
    if kind == "aot":
        dd = np.sort(pc - pr) - np.sort(rc - rr)
        return -(1 - eps) * logsig(b * dd) - eps * logsig(-b * dd)
    if kind == "aot_unpaired":
        dd = np.sort(rw) - np.sort(rl)
        return -(1 - eps) * logsig(b * dd) - eps * logsig(-b * dd)
    if kind == "apo_zero":
        return 1 - sig(b * rw) + sig(b * rl)
    if kind == "apo_down":
        return sig(b * rw) + 1 - sig(z)
    if kind == "discopop":
        tau = 0.05
        m = sig(z / tau)
        # e^{-z} * m written as exp(-z + log m) so that it is finite where e^{-z} overflows
        return -logsig(z) * (1 - m) + np.exp(-z + logsig(z / tau))
    if kind == "sft":
        return np.full_like(pc, -pc.sum() / max(lw.sum(), 1.0))
    if kind == "sigmoid_norm":
        return -logsig(b * (sw / np.maximum(lw, 1) - sl / np.maximum(ll, 1)))
    raise ValueError(kind)


def loss(c, batch, flat=None):
    v = {k: np.array(x, dtype=np.float64) for k, x in batch.items()}
    if flat is not None:
        v["pc"], v["pr"], v["rc"], v["rr"] = flat[0:4], flat[4:8], flat[8:12], flat[12:16]
    pc, pr, rc, rr = v["pc"], v["pr"], v["rc"], v["rr"]
    if c.get("reference_free"):
        rc, rr = np.zeros_like(rc), np.zeros_like(rr)
    total = 0.0
    for kind, w in zip(c["types"], c.get("weights", [1.0] * len(c["types"]))):
        l = per_pair(kind, c, pc, pr, rc, rr, v["lw"], v["ll"])
        if c.get("wpo"):
            l = l * np.exp(v["aw"] + v["al"])
        total += w * l.mean()
    if c.get("rpo_alpha") is not None:
        total += c["rpo_alpha"] * (-pc.sum() / max(v["lw"].sum(), 1.0))
    return total


def fd_grad(c, batch, h=1e-6):
    x = np.concatenate([np.array(batch[k], dtype=np.float64) for k in ("pc", "pr", "rc", "rr")])
    g = np.zeros_like(x)
    for i in range(len(x)):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (loss(c, batch, xp) - loss(c, batch, xm)) / (2 * h)
    return g


CASES = [
    ("sigmoid", dict(types=["sigmoid"])),
    ("sigmoid_cdpo", dict(types=["sigmoid"], eps=0.1)),
    ("hinge", dict(types=["hinge"])),
    ("ipo", dict(types=["ipo"])),
    ("exo_pair", dict(types=["exo_pair"], eps=0.1)),
    ("nca_pair", dict(types=["nca_pair"])),
    ("robust", dict(types=["robust"], eps=0.1)),
    ("bco_pair", dict(types=["bco_pair"])),
    ("bco_pair_delta", dict(types=["bco_pair"], bco_delta=0.05)),
    ("sppo_hard", dict(types=["sppo_hard"])),
    ("aot", dict(types=["aot"], eps=0.1)),
    ("aot_unpaired", dict(types=["aot_unpaired"])),
    ("apo_zero", dict(types=["apo_zero"])),
    ("apo_down", dict(types=["apo_down"])),
    ("discopop", dict(types=["discopop"])),
    ("sft", dict(types=["sft"])),
    ("sigmoid_norm", dict(types=["sigmoid_norm"])),
    ("forward_kl", dict(types=["sigmoid"], fdiv="forward_kl")),
    ("js_divergence", dict(types=["sigmoid"], fdiv="js")),
    ("alpha_divergence", dict(types=["sigmoid"], fdiv="alpha", coef=0.3)),
    ("reference_free", dict(types=["sigmoid"], reference_free=True)),
    ("wpo", dict(types=["sigmoid"], wpo=True)),
    ("rpo", dict(types=["sigmoid"], rpo_alpha=1.0)),
    ("mpo_weighted_sum", dict(types=["sigmoid", "bco_pair", "sft"], weights=[0.8, 0.2, 1.0])),
]

print("// Generated by tests/reference/pairwise_reference.py (numpy float64). Do not edit by hand.")
print("// (name, extreme-batch loss, moderate-batch loss, FD gradient of the moderate loss)")
print("pub(super) const GOLDEN: &[(&str, f64, f64, [f64; 16])] = &[")
for name, c in CASES:
    ext = loss(c, EXTREME)
    mod_c = dict(c)
    if name == "alpha_divergence":
        # moderate batch: computed in the f-DPO paper's / legacy TRL convention with alpha = 0.7,
        # which must equal preferent's (TRL HEAD) coefficient a = 1 - 0.7 = 0.3.
        mod_c = dict(types=["sigmoid"], legacy_alpha=0.7)
    mo = loss(mod_c, MODERATE)
    g = fd_grad(mod_c, MODERATE)
    assert np.isfinite(ext), name
    print(f'    ("{name}", {float(ext)!r}, {float(mo)!r}, [{", ".join(repr(float(x)) for x in g)}]),')
print("];")

# Metrics on the extreme batch (TRL HEAD: rewards = beta * (logp - ref_logp), strict accuracies)
v = {k: np.array(x) for k, x in EXTREME.items()}
rw, rl = BETA * (v["pc"] - v["rc"]), BETA * (v["pr"] - v["rr"])
print(
    "pub(super) const EXTREME_METRICS: [f64; 6] = "
    f"[{float(rw.mean())!r}, {float(rl.mean())!r}, {float((rw - rl).mean())!r}, {float((rw > rl).mean())!r}, "
    f"{float(v['pc'].mean())!r}, {float(v['pr'].mean())!r}];"
)
