# Independent re-derivation of the PFGM++ goldens in tests/pfgmpp.rs, written from the official
# formulas of Newbeeer/pfgmpp @ d57c1ee (float64 numpy, no Rust code consulted):
#   training/networks.py:700-703  EDMPrecond c_skip, c_out, c_in, c_noise (sigma_data = 0.5)
#   training/loss.py:142          EDM loss weight (sigma^2 + sigma_d^2) / (sigma sigma_d)^2
#   training/loss.py:121-131      r = sigma sqrt(D); B clipped to [1e-3, 1-1e-3];
#                                 R = r sqrt(B / (1 - B + 1e-8) + 1e-8)
#   generate.py:213-225           prior radius R = sqrt(B / (1 - B)) sigma_max sqrt(D), unclipped
#   generate.py:28-75             edm_sampler (S_churn = 0): Karras t_steps, Heun, no correction
#                                 on the final step to 0; pfgmpp latents used as x_T directly
# Here B = G_N / (G_N + G_D) for given Gamma values (what a Beta draw is), so the radius goldens
# are functions of fixed inputs.
#
# Run: python3 tests/reference/pfgmpp_reference.py   (numpy; a venv under the repo's .venv works)
import numpy as np

SD = 0.5


def precond(s):
    c_skip = SD**2 / (s**2 + SD**2)
    c_out = s * SD / np.sqrt(s**2 + SD**2)
    c_in = 1 / np.sqrt(SD**2 + s**2)
    c_noise = np.log(s) / 4
    weight = (s**2 + SD**2) / (s * SD) ** 2
    return c_skip, c_out, c_in, c_noise, weight


def fmt(v):
    return ", ".join(repr(float(x)) for x in np.ravel(v))


print("// precond rows: sigma, c_skip, c_out, c_in, c_noise, weight")
for s in [0.002, 0.2, 0.5, 1.0, 7.5, 80.0]:
    print(f"[{fmt([s, *precond(s)])}],")

print("// training radius (clip 1e-3) and unclipped radius: sigma, D, g_n, g_d, R_clip, R_free")
cases = [
    (1.0, 128, 1536.3, 64.2),  # N = 3072 typical draw
    (0.7, 2048, 40.0, 1010.0),
    (2.5, 8, 4.0, 0.01),  # B = 0.9975 < 1 - 1e-3: clip inactive
    (80.0, 2, 1536.0, 0.5),  # B = 0.99967 -> clip active
    (0.3, 16, 1e-6, 8.0),  # B ~ 1.25e-7 -> clip active at the lower end
]
for s, d, gn, gd in cases:
    r = s * np.sqrt(d)
    b = gn / (gn + gd)
    bc = np.clip(b, 1e-3, 1 - 1e-3)
    r_clip = r * np.sqrt(bc / (1 - bc + 1e-8) + 1e-8)
    r_free = np.sqrt(b / (1 - b)) * s * np.sqrt(d)
    print(f"[{fmt([s, d, gn, gd, r_clip, r_free])}],")

print("// prior rms sigma_max sqrt(D/(D-2)): (80,128), (80,2048), (1,3)")
print(fmt([80 * np.sqrt(128 / 126), 80 * np.sqrt(2048 / 2046), 1 * np.sqrt(3 / 1)]))


def t_steps(num_steps, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    i = np.arange(num_steps, dtype=np.float64)
    t = (sigma_max ** (1 / rho) + i / (num_steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return np.concatenate([t, [0.0]])


print("// official t_steps, num_steps = 18")
print(fmt(t_steps(18)))


def net(x, s):
    # A preconditioned toy network: F(c_in x, c_noise) = tanh(c_in x) + 0.1 c_noise.
    c_skip, c_out, c_in, c_noise, _ = precond(s)
    return c_skip * x + c_out * (np.tanh(c_in * x) + 0.1 * c_noise)


def edm_sampler(x_t, num_steps):
    ts = t_steps(num_steps)
    x_next = x_t.astype(np.float64)
    for i, (t_cur, t_next) in enumerate(zip(ts[:-1], ts[1:])):
        x_hat = x_next
        d_cur = (x_hat - net(x_hat, t_cur)) / t_cur
        x_next = x_hat + (t_next - t_cur) * d_cur
        if i < num_steps - 1:
            d_prime = (x_next - net(x_next, t_next)) / t_next
            x_next = x_hat + (t_next - t_cur) * (0.5 * d_cur + 0.5 * d_prime)
    return x_next


x_t = np.array([[30.0, -45.0, 12.0], [-5.0, 60.0, 100.0]])
print("// edm_sampler, 5 steps, toy net, x_T above")
print(fmt(edm_sampler(x_t, 5)))
