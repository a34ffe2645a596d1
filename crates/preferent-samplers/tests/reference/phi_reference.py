# Reference values of the phi-functions at 50 digits (mpmath), pasted into src/phi.rs.
import mpmath as mp

mp.mp.dps = 50
zs = ["-3", "-0.4999", "-1e-8", "0", "1e-8", "0.4999", "3"]


def phi(k, z):
    z = mp.mpf(z)
    if z == 0:
        return 1 / mp.factorial(k)
    s = mp.e ** z - sum(z ** j / mp.factorial(j) for j in range(k))
    return s / z ** k


for k in (1, 2, 3):
    print(f"phi{k}:", ", ".join(mp.nstr(phi(k, z), 17) for z in zs))
