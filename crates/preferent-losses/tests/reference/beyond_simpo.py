"""Golden values for src/simpo.rs (SimPO, princeton-nlp/SimPO scripts/simpo_trainer.py::simpo_loss)."""
import numpy as np

def logsig(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

def simpo(aw, al, beta=2.0, ratio=0.25, eps=0.0, sft=0.0, hinge=False):
    aw, al = np.asarray(aw, float), np.asarray(al, float)
    logits = aw - al - ratio
    if hinge:
        l = np.maximum(0.0, 1.0 - beta * logits)
    else:
        l = -(1 - eps) * logsig(beta * logits) - eps * logsig(-beta * logits)
    return l.mean() + sft * (-aw).mean(), l

aw = [-0.8, -1.2, -0.3, -2.5, -600.0, -0.5]
al = [-1.1, -0.9, -0.35, -2.0, -0.5, -700.0]
np.set_printoptions(precision=17)
print("default", repr(simpo(aw, al)[0]))
print("smoothed+sft", repr(simpo(aw, al, beta=2.5, ratio=0.55, eps=0.1, sft=1.0)[0]))
print("hinge", repr(simpo(aw, al, hinge=True)[0]))
rw = 2.0 * np.array(aw); rl = 2.0 * np.array(al)
print("rewards chosen/rejected/margin/acc", repr(rw.mean()), repr(rl.mean()), repr((rw - rl).mean()), repr((rw > rl).mean()))
