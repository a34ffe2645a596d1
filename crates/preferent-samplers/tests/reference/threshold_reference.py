# Dynamic thresholding as diffusers' _threshold_sample (torch.quantile = numpy 'linear').
import numpy as np

x = np.array([[-3, -1, 0.5, 2], [0.1, -0.2, 0.3, 0.4]])
s = np.quantile(np.abs(x), 0.75, axis=1)
s = np.minimum(np.maximum(s, 1.0), 2.5)  # torch.clamp(min=1, max=2.5)
print((np.clip(x, -s[:, None], s[:, None]) / s[:, None]).tolist())
x = np.array([[0.1, -0.4, 0.9, -2.0]])
s = np.minimum(np.maximum(np.quantile(np.abs(x), 0.995, axis=1), 1.0), 0.5)
print((np.clip(x, -s[:, None], s[:, None]) / s[:, None]).tolist())
