"""Golden values for src/kto.rs (KTO, TRL trl/trainer/kto_trainer.py::kto_loss, loss_type="kto"
and "apo_zero_unpaired")."""
import numpy as np

def sig(x):
    return 0.5 * (1 + np.tanh(0.5 * x))  # overflow-free sigmoid

def kto(pol, ref, desirable, kl_pol, kl_ref, beta=0.1, wd=1.0, wu=1.0, apo=False):
    pol, ref, kl_pol, kl_ref = map(lambda a: np.asarray(a, float), (pol, ref, kl_pol, kl_ref))
    d = np.asarray(desirable, bool)
    r = pol - ref
    z = 0.0 if apo else max((kl_pol - kl_ref).mean(), 0.0)
    if apo:
        ch = 1 - sig(beta * r[d]); rj = sig(beta * r[~d])
    else:
        ch = 1 - sig(beta * (r[d] - z)); rj = 1 - sig(beta * (z - r[~d]))
    losses = np.concatenate([wd * ch, wu * rj])
    return np.nanmean(losses), z, beta * r[d], beta * r[~d]

pol = [-10.0, -22.0, -8.0, -900.0, -15.0, -7.0]
ref = [-12.0, -20.0, -9.5, -100.0, -15.5, -700.0]
des = [True, False, True, True, False, False]
klp = [-14.0, -21.0, -9.0, -16.0, -30.0, -11.0]
klr = [-15.0, -20.5, -10.0, -16.2, -29.0, -12.5]
loss, z, rc, rr = kto(pol, ref, des, klp, klr)
print("kto default", repr(loss), "kl", repr(z), "rewards/chosen", repr(rc.mean()), "rewards/rejected", repr(rr.mean()))
print("kto wd=1.33 wu=0.7 beta=0.5", repr(kto(pol, ref, des, klp, klr, beta=0.5, wd=1.33, wu=0.7)[0]))
# KL clamped at zero: negative mean KL
print("kto negative KL -> z=0", repr(kto(pol, ref, des, klr, klp)[0]), repr(kto(pol, ref, des, klr, klp)[1]))
print("apo_zero_unpaired", repr(kto(pol, ref, des, klp, klr, apo=True)[0]))
# Strongly negative mean KL (-5) at beta=0.5: the clamp to 0 changes the loss visibly.
klp_neg = np.array(klr) - 5.0
l0, z0, _, _ = kto(pol, ref, des, klp_neg, klr, beta=0.5)
print("kto beta=0.5, mean KL -5 (clamped)", repr(l0), repr(z0))
# what an unclamped z=-5 would give (must differ)
r = np.array(pol) - np.array(ref); d = np.array(des)
unclamped = np.concatenate([1 - sig(0.5 * (r[d] + 5)), 1 - sig(0.5 * (-5 - r[~d]))]).mean()
print("unclamped would be", repr(unclamped))
