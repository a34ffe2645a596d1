"""Golden values for src/token_reward.rs (From r to Q*, arXiv 2404.12358: per-token implicit
rewards beta*(log pi - log pi_ref), cumulative sums, implicit-reward beam selection) and
src/dporm.rs (DPORM vs EXRM pair accuracy, arXiv 2409.03650)."""
import numpy as np

beta = 0.1
pol = np.array([[-1.0, -2.0, -0.5, -3.0], [-600.0, -0.1, -0.2, -9.0], [-0.3, -0.4, -0.5, -0.6]])
ref = np.array([[-1.5, -1.0, -0.7, -2.0], [-100.0, -0.3, -0.1, -1.0], [-0.2, -0.9, -0.1, -0.6]])
mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]], float)
r = beta * (pol - ref) * mask
print("token rewards", [repr(v) for v in r.ravel()])
print("cumulative", [repr(v) for v in np.cumsum(r, 1).ravel()])
print("sequence", [repr(v) for v in r.sum(1)])

# Beam selection: 2 groups x 3 candidates x 3 tokens, prefix scores, top-2 per group
pp = np.array([[[-1.0, -1.0, -1.0], [-0.5, -2.0, -0.1], [-3.0, -0.1, -0.1]],
               [[-0.2, -0.2, -700.0], [-0.3, -0.1, -0.1], [-1.0, -1.0, -1.0]]])
rr = np.array([[[-1.2, -0.8, -1.1], [-0.7, -1.0, -0.2], [-1.0, -0.5, -0.4]],
               [[-0.1, -0.3, -100.0], [-0.2, -0.2, -0.2], [-2.0, -0.5, -1.5]]])
mm = np.array([[[1, 1, 1], [1, 1, 0], [1, 1, 1]], [[1, 1, 1], [1, 1, 1], [1, 1, 1]]], float)
prefix = np.array([[0.05, 0.0, -0.1], [0.0, 0.02, 0.0]])
sc = prefix + (beta * (pp - rr) * mm).sum(2)
print("beam scores", [repr(v) for v in sc.ravel()])
print("top2", [list(np.argsort(-s, kind="stable")[:2]) for s in sc])

# DPORM
pc = np.array([-10.0, -20.0, -5.0, -600.0, -7.0])
pr = np.array([-11.0, -19.0, -6.0, -550.0, -7.0])
rc = np.array([-10.5, -19.5, -5.5, -580.0, -7.5])
rrj = np.array([-11.2, -19.2, -5.0, -560.0, -7.5])
ec = np.array([1.0, 0.6, -0.3, 2.0, 0.0])
er = np.array([0.5, 0.4, -0.5, 2.5, 0.0])
dm = beta * ((pc - rc) - (pr - rrj))
print("dporm margins", [repr(v) for v in dm])
d_ok = dm > 0; e_ok = (ec - er) > 0
print("dporm acc", repr(d_ok.mean()), "exrm acc", repr(e_ok.mean()), "agree", repr((d_ok == e_ok).mean()))
