"""Golden values for src/orpo.rs (ORPO, TRL trl/experimental/orpo/orpo_trainer.py::odds_ratio_loss)."""
import numpy as np

def logsig(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

def log1mexp(x):
    x = np.asarray(x, float)
    return np.where(x > -np.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))

def orpo(aw, al, beta=0.1, nll=None):
    aw, al = np.asarray(aw, float), np.asarray(al, float)
    log_odds = (aw - al) - (log1mexp(aw) - log1mexp(al))
    ratio = logsig(log_odds)
    if nll is None:
        nll = -aw.mean()
    return nll - beta * ratio.mean(), log_odds, ratio

aw = [-0.8, -1.2, -0.3, -2.5, -600.0, -1e-4]
al = [-1.1, -0.9, -0.35, -2.0, -0.5, -700.0]
loss, lo, r = orpo(aw, al)
print("default (nll = -mean aw)", repr(loss))
print("log_odds mean", repr(lo.mean()), "log_odds_ratio mean", repr(r.mean()))
print("beta=0.25, nll=1.7", repr(orpo(aw, al, beta=0.25, nll=1.7)[0]))
