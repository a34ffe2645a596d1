"""Independent summary of data/digits.csv.gz for the Rust loader test (numpy)."""
import gzip, os
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
with gzip.open(os.path.join(here, "..", "..", "data", "digits.csv.gz"), "rt") as f:
    a = np.loadtxt(f, delimiter=",")
print("rows", a.shape[0])
print("label counts", np.bincount(a[:, -1].astype(int)).tolist())
print("pixel sum", int(a[:, :-1].sum()))
