"""PyTorch CPU reference for one training step of preferent-models' reference networks.

Same architectures as crates/preferent-models:
  mlp_denoiser  MlpDenoiser: sinusoidal time embedding -> Linear-SiLU-Linear; input Linear;
                n_blocks residual blocks h += Linear(SiLU(h + Linear(e))); output Linear(SiLU(h));
                loss = mean((f(x, t) - eps)^2)
  unet          UNet (no context, and with cross-attention to context tokens): sinusoidal time embedding -> Linear-SiLU-Linear; conv_in;
                ResBlock(c, c); avg-pool 2x2; ResBlock(c, 2c); [x + CrossAttn(GN(x), ctx)];
                ResBlock(2c, 2c); nearest 2x
                upsample; concat skip; ResBlock(3c, c); GroupNorm-SiLU-conv_out;
                ResBlock(i, o) = conv(SiLU(GN(x))) + Linear(SiLU(e)); conv(SiLU(GN(h))) + skip(x)
                loss = mean((f(x, t) - eps)^2)
  byte_lm       ByteLm: token + position embeddings, pre-norm transformer encoder (GELU FFN,
                causal mask, dropout 0), final LayerNorm, bias-free head; loss = masked mean NLL
                of next-token log-probs
One step = zero_grad + forward + backward + AdamW step (lr 1e-3, weight decay 0).
Usage: train_step.py [--quick] [--reps N]
"""

import argparse
import math

import torch
from torch import nn

from common import emit, log, thread_settings, time_fn

MLP = {
    "quick": dict(dim=2, hidden=128, n_blocks=3, time_dim=64, batch=256),
    "full": dict(dim=64, hidden=256, n_blocks=3, time_dim=64, batch=256),
}
UNET = {
    "quick": dict(in_channels=1, base_channels=16, time_dim=64, groups=8, size=8, batch=16,
                  ctx_tokens=4, ctx_dim=16),
    "full": dict(in_channels=1, base_channels=32, time_dim=64, groups=8, size=8, batch=64,
                 ctx_tokens=4, ctx_dim=16),
}
LM = {
    "quick": dict(vocab=256, d_model=64, n_heads=4, n_layers=2, d_ff=256, seq=32, batch=8),
    "full": dict(vocab=256, d_model=192, n_heads=6, n_layers=6, d_ff=768, seq=128, batch=8),
}


def sinusoidal(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = t[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class MlpDenoiser(nn.Module):
    def __init__(self, dim, hidden, n_blocks, time_dim):
        super().__init__()
        self.time_dim = time_dim
        self.time_1 = nn.Linear(time_dim, hidden)
        self.time_2 = nn.Linear(hidden, hidden)
        self.input = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(n_blocks))
        self.time_proj = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(n_blocks))
        self.output = nn.Linear(hidden, dim)

    def forward(self, x, t):
        e = self.time_2(nn.functional.silu(self.time_1(sinusoidal(t, self.time_dim))))
        h = self.input(x) + e
        for block, proj in zip(self.blocks, self.time_proj):
            h = h + block(nn.functional.silu(h + proj(e)))
        return self.output(nn.functional.silu(h))


class ResBlock(nn.Module):
    def __init__(self, i, o, t, groups):
        super().__init__()
        self.norm_1 = nn.GroupNorm(groups if i % groups == 0 else 1, i)
        self.conv_1 = nn.Conv2d(i, o, 3, padding=1)
        self.time = nn.Linear(t, o)
        self.norm_2 = nn.GroupNorm(groups, o)
        self.conv_2 = nn.Conv2d(o, o, 3, padding=1)
        self.skip = nn.Conv2d(i, o, 1) if i != o else None

    def forward(self, x, temb):
        silu = nn.functional.silu
        h = self.conv_1(silu(self.norm_1(x)))
        h = h + self.time(silu(temb))[:, :, None, None]
        h = self.conv_2(silu(self.norm_2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class CrossAttnBlock(nn.Module):
    """burn's CrossAttention (separate q/k/v/out projections with bias, one softmax) after a
    GroupNorm, as a residual over the image positions."""

    def __init__(self, channels, context_dim, groups, n_heads=1):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.attn = nn.MultiheadAttention(
            channels, n_heads, kdim=context_dim, vdim=context_dim, batch_first=True
        )

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        q = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        a, _ = self.attn(q, ctx, ctx, need_weights=False)
        return x + a.transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    def __init__(self, in_channels, base_channels, time_dim, groups, context_dim=None):
        super().__init__()
        c, t = base_channels, 4 * base_channels
        self.time_dim = time_dim
        self.time_1 = nn.Linear(time_dim, t)
        self.time_2 = nn.Linear(t, t)
        self.conv_in = nn.Conv2d(in_channels, c, 3, padding=1)
        self.down = ResBlock(c, c, t, groups)
        self.mid_1 = ResBlock(c, 2 * c, t, groups)
        self.attn = None if context_dim is None else CrossAttnBlock(2 * c, context_dim, groups)
        self.mid_2 = ResBlock(2 * c, 2 * c, t, groups)
        self.up = ResBlock(3 * c, c, t, groups)
        self.norm_out = nn.GroupNorm(groups, c)
        self.conv_out = nn.Conv2d(c, in_channels, 3, padding=1)

    def forward(self, x, t, ctx=None):
        silu = nn.functional.silu
        e = self.time_2(silu(self.time_1(sinusoidal(t, self.time_dim))))
        h1 = self.down(self.conv_in(x), e)
        m = self.mid_1(nn.functional.avg_pool2d(h1, 2), e)
        if self.attn is not None:
            m = self.attn(m, ctx)
        m = self.mid_2(m, e)
        up = nn.functional.interpolate(m, scale_factor=2, mode="nearest")
        u = self.up(torch.cat([up, h1], 1), e)
        return self.conv_out(silu(self.norm_out(u)))


class ByteLm(nn.Module):
    def __init__(self, vocab, d_model, n_heads, n_layers, d_ff, seq):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d_model)
        self.pos_emb = nn.Embedding(seq, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, d_ff, dropout=0.0, activation="gelu", batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)

    def loss(self, tokens, loss_mask):
        b, t = tokens.shape
        h = self.tok_emb(tokens) + self.pos_emb(torch.arange(t, device=tokens.device))[None]
        causal = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device)
        h = self.norm(self.blocks(h, mask=causal, is_causal=True))
        logits = self.head(h)
        lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, tokens[:, 1:, None])[..., 0]
        return -(lp * loss_mask).sum() / loss_mask.sum().clamp_min(1.0)


def step_fn(model, loss_fn):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss

    return step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int, default=0)
    a = p.parse_args()
    mode = "quick" if a.quick else "full"
    torch.manual_seed(0)
    results = []

    c = MLP[mode]
    mlp = MlpDenoiser(c["dim"], c["hidden"], c["n_blocks"], c["time_dim"])
    x = torch.randn(c["batch"], c["dim"])
    t = torch.randint(0, 1000, (c["batch"],)).float()
    eps = torch.randn(c["batch"], c["dim"])
    mlp_step = step_fn(mlp, lambda: ((mlp(x, t) - eps) ** 2).mean())

    c3 = UNET[mode]
    unet = UNet(c3["in_channels"], c3["base_channels"], c3["time_dim"], c3["groups"])
    img = (c3["batch"], c3["in_channels"], c3["size"], c3["size"])
    xu, eu = torch.randn(img), torch.randn(img)
    tu = torch.randint(0, 1000, (c3["batch"],)).float()
    unet_step = step_fn(unet, lambda: ((unet(xu, tu) - eu) ** 2).mean())
    unet_ctx = UNet(
        c3["in_channels"], c3["base_channels"], c3["time_dim"], c3["groups"], c3["ctx_dim"]
    )
    ctx = torch.randn(c3["batch"], c3["ctx_tokens"], c3["ctx_dim"])
    unet_ctx_step = step_fn(unet_ctx, lambda: ((unet_ctx(xu, tu, ctx) - eu) ** 2).mean())

    c2 = LM[mode]
    lm = ByteLm(c2["vocab"], c2["d_model"], c2["n_heads"], c2["n_layers"], c2["d_ff"], c2["seq"])
    tokens = torch.randint(0, c2["vocab"], (c2["batch"], c2["seq"]))
    mask = torch.ones(c2["batch"], c2["seq"] - 1)
    lm_step = step_fn(lm, lambda: lm.loss(tokens, mask))

    for threads in thread_settings():
        torch.set_num_threads(threads)
        for impl, fn, cfg, reps in (
            ("torch_mlp_denoiser", mlp_step, c, a.reps or 20),
            ("torch_unet", unet_step, c3, a.reps or 20),
            ("torch_unet_ctx", unet_ctx_step, c3, a.reps or 20),
            ("torch_byte_lm", lm_step, c2, a.reps or (10 if a.quick else 5)),
        ):
            r = time_fn(fn, warmup=2, reps=reps)
            model = {
                "torch_mlp_denoiser": mlp,
                "torch_unet": unet,
                "torch_unet_ctx": unet_ctx,
                "torch_byte_lm": lm,
            }[impl]
            n_params = sum(p.numel() for p in model.parameters())
            r.update(impl=impl, threads=threads, config=cfg, params=n_params)
            log(f"{impl} {cfg} threads={threads}: {r['median_ms']:.2f} ms/step ({n_params} params)")
            results.append(r)
    emit("train_step", results)


if __name__ == "__main__":
    main()
