"""Independent numpy (float64) reference for LD-DPO log-probs and WPO log-weights.

LD-DPO (arXiv 2409.06411; TRL HEAD `ld_alpha`): with l_p = min(|y_w|, |y_l|), the first l_p
completion tokens count fully and the rest are scaled by alpha.
WPO (arXiv 2406.11827 Eq. 2; TRL HEAD `use_weighting`): a = mean over completion tokens of
log p(y_t) - log sum_v p_t(v)^2.
Run: python3 crates/preferent-losses/tests/reference/pairwise_ld_wpo_reference.py
"""
import numpy as np
from scipy.special import logsumexp

ALPHA = 0.6
CW = np.array([[0.0, -1.0, -2.0, -0.5, -3.0], [-0.25, -0.75, 0.0, 0.0, 0.0]])
MW = np.array([[0, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=bool)
CL = np.array([[-4.0, -0.5, 0.0, 0.0], [0.0, -1.5, -2.5, -0.125]])
ML = np.array([[1, 1, 0, 0], [0, 1, 1, 1]], dtype=bool)


def ld(per_tok, mask, shared):
    pos = np.cumsum(mask, axis=1)
    head = mask & (pos <= shared[:, None])
    tail = mask & (pos > shared[:, None])
    return (per_tok * head).sum(1) + ALPHA * (per_tok * tail).sum(1)


shared = np.minimum(MW.sum(1), ML.sum(1))
print(f"const LD_CHOSEN: [f64; 2] = [{', '.join(repr(float(x)) for x in ld(CW, MW, shared))}];")
print(f"const LD_REJECTED: [f64; 2] = [{', '.join(repr(float(x)) for x in ld(CL, ML, shared))}];")

# WPO on the logits of logprobs_reference.py
LOGITS = np.array([
    [[1.0, 2.0, 0.5, -1.0, 3.0], [1000.0, 999.0, -1000.0, 0.0, 998.5], [-0.3, 0.2, 0.1, 0.0, -2.0]],
    [[0.0, 0.0, 0.0, 0.0, 0.0], [-5.0, 4.0, 2.5, -1.5, 0.25], [-800.0, -801.0, -799.5, -900.0, -805.0]],
])
LABELS = np.array([[4, 1, -100], [2, 3, 2]])
MASK = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
safe = np.where(MASK, LABELS, 0)
lse = logsumexp(LOGITS, axis=-1)
logp = np.take_along_axis(LOGITS, safe[..., None], axis=-1)[..., 0] - lse
p = np.exp(LOGITS - lse[..., None])
log_sum_p2 = np.log((p ** 2).sum(-1))  # direct definition, not the lse identity
a = np.where(MASK, logp - log_sum_p2, 0.0).sum(1) / np.maximum(MASK.sum(1), 1)
print(f"const WPO_LOG_WEIGHTS: [f64; 2] = [{', '.join(repr(float(x)) for x in a)}];")
