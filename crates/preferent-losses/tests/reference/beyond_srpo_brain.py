"""Golden values for src/srpo.rs (SRPO, arXiv 2406.01660; loss as in unmerged TRL PR #1772
trl/trainer/srpo_trainer.py::srpo_loss) and src/brain.rs (BRAIn, arXiv 2402.02479)."""
import numpy as np
from scipy.special import log_softmax, softmax, logsumexp

# ---- SRPO: six log-probs per pair for policy and reference
# order: chosen, rejected, chosen|rejected (y_w improving y_l), rejected|rejected,
#        chosen|chosen, rejected|chosen
pol = np.array([
    [-10.0, -12.0, -9.0, -11.5, -8.5, -12.5],
    [-20.0, -18.0, -19.0, -18.5, -21.0, -17.0],
    [-600.0, -550.0, -590.0, -560.0, -601.0, -545.0],
])
ref = np.array([
    [-11.0, -11.5, -10.0, -11.0, -9.0, -12.0],
    [-19.0, -18.5, -19.5, -18.0, -20.0, -17.5],
    [-580.0, -570.0, -585.0, -565.0, -590.0, -560.0],
])

def srpo(pol, ref, beta=0.1, alpha=0.5):
    h = pol - ref
    hw, hl, hwl, hll, hww, hlw = h.T
    self_l = (0.5 - beta * (hwl - hll)) ** 2 + (0.5 - beta * (hww - hlw)) ** 2
    gen = (beta * (hwl + hw - hlw - hl) - 1) ** 2
    return ((1 - alpha) * gen + alpha * self_l).mean(), gen.mean(), self_l.mean()

print("srpo default", [repr(v) for v in srpo(pol, ref)])
print("srpo beta=0.05 alpha=0.2", repr(srpo(pol, ref, 0.05, 0.2)[0]))

# ---- BRAIn: [B, n] log-probs
pi = np.array([[-10.0, -12.0, -9.5, -11.0], [-600.0, -650.0, -580.0, -700.0]])
q = np.array([[-10.5, -11.0, -10.0, -12.0], [-590.0, -640.0, -600.0, -690.0]])
sft = np.array([[-10.2, -11.5, -9.0, -11.8], [-595.0, -660.0, -585.0, -695.0]])
rll = np.array([[-0.3, -1.5, -0.9, -2.0], [-0.1, -3.0, -0.7, -0.05]])  # log p(G=1|x,y)
alpha = softmax(sft + rll - q, axis=1)
logbeta = log_softmax(pi - q, axis=1)
loss = -(alpha * logbeta).sum(1).mean()
kl = (alpha * (np.log(alpha) - logbeta)).sum(1).mean()
ess = (1.0 / (alpha ** 2).sum(1)).mean()
print("brain posterior loss", repr(loss), "kl", repr(kl), "ess", repr(ess))
w = np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 1.0, 0.0]])
print("brain explicit weights loss", repr(-(w * logbeta).sum(1).mean()))
