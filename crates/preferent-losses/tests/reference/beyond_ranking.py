"""Golden values for src/bradley_terry.rs (TRL RewardTrainer.compute_loss) and
src/plackett_luce.rs (listwise Plackett-Luce negative log-likelihood)."""
import numpy as np

def logsig(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

def lse(v):
    m = np.max(v)
    return m + np.log(np.sum(np.exp(v - m)))

# ---- Bradley-Terry reward-model loss
rc = np.array([1.5, -0.3, 2.0, 600.0, -0.7])
rr = np.array([0.5, 0.2, 2.0, -550.0, 800.0])
mg = np.array([0.0, 0.5, 1.0, 2.0, 0.0])
bt = -logsig(rc - rr).mean()
print("bt plain", repr(bt))
print("bt margin", repr(-logsig(rc - rr - mg).mean()))
print("bt margin + center 0.01", repr(-logsig(rc - rr - mg).mean() + 0.01 * np.mean((rc + rr) ** 2)))
print("bt accuracy", repr((rc > rr).mean()), "margin mean", repr((rc - rr).mean()))

# ---- Plackett-Luce, scores best first, mask True = valid
def pl_row(s, m, beta):
    x = beta * np.asarray(s, float)[np.asarray(m, bool)]
    return -sum(x[k] - lse(x[k:]) for k in range(len(x)))

S = np.array([[2.0, 1.0, 0.5, -1.0],
              [0.3, 0.9, -0.2, 0.0],
              [700.0, -600.0, 5.0, 1.0],
              [1.0, 3.0, 99.0, -99.0]])
M = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]], bool)
full = np.mean([pl_row(S[i], np.ones(4, bool), 1.0) for i in range(4)])
masked = np.mean([pl_row(S[i], M[i], 1.0) for i in range(4)])
beta = np.mean([pl_row(S[i], M[i], 0.5) for i in range(4)])
print("pl full", repr(full))
print("pl masked", repr(masked))
print("pl masked beta=0.5", repr(beta))
# pairwise accuracy over ordered valid pairs i<j (s_i > s_j), top-1 accuracy
pa = []; t1 = []
for i in range(4):
    x = S[i][M[i]]
    pa += [x[a] > x[b] for a in range(len(x)) for b in range(a + 1, len(x))]
    t1.append(all(x[0] > x[1:]))
print("pl masked pair acc", repr(np.mean(pa)), "top1", repr(np.mean(t1)))
