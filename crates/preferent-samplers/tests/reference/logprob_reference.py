# Gaussian transition log-probabilities (src/solvers/base.rs test).
from scipy.stats import norm
import numpy as np

mean = np.array([[0.5, -1.0], [0.0, 2.0]])
x = np.array([[0.2, -0.4], [0.1, 2.5]])
lp = norm(loc=mean, scale=0.3).logpdf(x)
print("sum", lp.sum(axis=1).tolist())
print("mean", lp.mean(axis=1).tolist())
