"""Independent numpy (float64) reference for preferent-losses' sequence log-probs.

Aligned labels (score at t predicts labels[t]); masked positions are 0 and their labels ignored.
Run: python3 crates/preferent-losses/tests/reference/logprobs_reference.py
"""
import numpy as np
from scipy.special import logsumexp

LOGITS = np.array([
    [[1.0, 2.0, 0.5, -1.0, 3.0],
     [1000.0, 999.0, -1000.0, 0.0, 998.5],     # extreme magnitudes: must stay finite
     [-0.3, 0.2, 0.1, 0.0, -2.0]],
    [[0.0, 0.0, 0.0, 0.0, 0.0],
     [-5.0, 4.0, 2.5, -1.5, 0.25],
     [-800.0, -801.0, -799.5, -900.0, -805.0]],
])
LABELS = np.array([[4, 1, -100], [2, 3, 2]])       # -100 sits under the mask
MASK = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)

HIDDEN = np.array([
    [[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, 1.0], [-2.0, 0.75, 0.3, -0.1]],
    [[0.2, 0.4, -0.6, 0.8], [-1.2, 2.2, 0.1, -0.3], [0.9, -0.7, 1.1, 0.05]],
])
WEIGHT = np.array([
    [0.3, -0.2, 0.5, 1.0],
    [-0.4, 0.8, 0.1, -0.6],
    [1.2, 0.05, -0.9, 0.3],
    [0.0, -1.1, 0.7, 0.2],
    [0.6, 0.4, 0.4, -0.8],
])
BIAS = np.array([0.1, -0.2, 0.0, 0.3, -0.05])


def seq_logprobs(logits, labels, mask):
    safe = np.where(mask, labels, 0)
    lp = np.take_along_axis(logits, safe[..., None], axis=-1)[..., 0] - logsumexp(logits, axis=-1)
    lp = np.where(mask, lp, 0.0)
    counts = mask.sum(1).astype(float)
    return lp, lp.sum(1), lp.sum(1) / np.maximum(counts, 1.0), counts


def show(name, a):
    print(f"const {name}: [f64; {a.size}] = [{', '.join(repr(float(x)) for x in a.ravel())}];")


lp, s, m, c = seq_logprobs(LOGITS, LABELS, MASK)
show("PER_TOKEN", lp)
show("SUM", s)
show("MEAN", m)
show("COUNTS", c)
lp, s, m, c = seq_logprobs(HIDDEN @ WEIGHT.T + BIAS, LABELS, MASK)
show("FUSED_PER_TOKEN", lp)
show("FUSED_SUM", s)
