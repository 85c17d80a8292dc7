#!/usr/bin/python3
"""PyTorch reference for bench/bench_nn.cpp: the same training steps, the same timing protocol.

Run with Debian's PyTorch (apt-get install python3-torch libopenblas0-pthread):
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_nn.py --threads 2

dense_train_step  the course's MLP: Flatten, 2352-256-120-84-4 with ReLUs
ig_dense, ig_conv        Integrated Gradients (50 Gauss-Legendre steps, zero baseline, one batched
                         pass, class 1) on 8 random images, natively (Captum's algorithm): images/s
occlusion_dense/_conv    Occlusion (3x4x4 zero window, stride 4, 49 windows per pass): images/s
gan_step                 one step of the course's GAN (UNet depth 2, 64 fmaps, batch 32): steps/s
conv_train_step   Conv2d(3,16,3,p1) ReLU MaxPool2d(2) Conv2d(16,32,3,p1) ReLU MaxPool2d(2),
                  Flatten Linear(1568,64) ReLU Linear(64,4)   (lumen's ConvModel)
One step = forward, cross-entropy, backward, torch.optim.Adam(lr=1e-4) with its defaults, on a fixed
batch of 32 random images [32, 3, 28, 28] in [0, 1] with random labels 0..3, float32.

Prints one JSON object per line: an "info" line, then one line per benchmark with name, metric, value,
unit, higher_is_better, median_ms, best_ms, iters, repeats, and a loss or checksum. The command line,
the timing protocol and the JSON lines are torch_harness.py's (bench/harness.h's).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_harness import emit, measure, parse_args, run


def make_model(name):
    if name == "dense":
        return nn.Sequential(nn.Flatten(), nn.Linear(2352, 256), nn.ReLU(), nn.Linear(256, 120), nn.ReLU(),
                             nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 4))
    features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 4))
    return nn.Sequential(features, classifier)


def bench_train_step(bench_name, model_name, args):
    torch.manual_seed(3)
    model = make_model(model_name)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(4)
    x = torch.rand(32, 3, 28, 28, generator=g)
    y = torch.randint(0, 4, (32,), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    with torch.no_grad():
        loss_start = F.cross_entropy(model(x), y).item()
    timing = measure(step, args)
    with torch.no_grad():
        loss_end = F.cross_entropy(model(x), y).item()
    emit(bench_name, "throughput", 1.0 / timing[0], "steps/s", True, timing, args,
         loss_start=loss_start, loss_end=loss_end)


def leggauss01(n):
    """Gauss-Legendre points and weights on [0, 1] (Captum's default IG rule)."""
    import numpy as np
    x, w = np.polynomial.legendre.leggauss(n)
    return [(float(a) + 1) / 2 for a in x], [float(b) / 2 for b in w]


def integrated_gradients(model, x, target, n_steps=50):
    """IG as Captum computes it, natively: every interpolation step in one batch, one autograd.grad."""
    alphas, weights = leggauss01(n_steps)
    n = x.shape[0]
    baseline = torch.zeros_like(x)
    a = torch.tensor(alphas, dtype=x.dtype).repeat_interleave(n).view(-1, 1, 1, 1)
    path = (baseline.repeat(n_steps, 1, 1, 1) + a * (x - baseline).repeat(n_steps, 1, 1, 1)).requires_grad_()
    score = model(path)[:, target].sum()
    (g,) = torch.autograd.grad(score, path)
    w = torch.tensor(weights, dtype=x.dtype).repeat_interleave(n).view(-1, 1, 1, 1)
    return (x - baseline) * (g * w).view(n_steps, n, *x.shape[1:]).sum(0)


def occlusion(model, x, target, window=4, stride=4, per_eval=49):
    """Occlusion as Captum computes it: zero a 3xwxw window, score difference, averaged over windows."""
    n, c, h, w = x.shape
    with torch.no_grad():
        base = model(x)[:, target]
        total = torch.zeros_like(x)
        count = torch.zeros_like(x)
        spots = [(i, j) for i in range(0, h - window + 1, stride) for j in range(0, w - window + 1, stride)]
        for s in range(0, len(spots), per_eval):
            chunk = spots[s:s + per_eval]
            batch = x.repeat(len(chunk), 1, 1, 1)
            masks = torch.zeros(len(chunk), 1, c, h, w, dtype=x.dtype)
            for k, (i, j) in enumerate(chunk):
                masks[k, :, :, i:i + window, j:j + window] = 1
            masks = masks.expand(len(chunk), n, c, h, w).reshape(-1, c, h, w)
            out = model(batch * (1 - masks))[:, target].view(len(chunk), n)
            diff = (base.unsqueeze(0) - out).view(len(chunk), n, 1, 1, 1)
            total += (diff * masks.view(len(chunk), n, c, h, w)).sum(0)
            count += masks.view(len(chunk), n, c, h, w)[:, 0:1].sum(0)
        return total / count.clamp(min=1)


def bench_attribution(bench_name, what, model_name, args):
    torch.manual_seed(3)
    model = make_model(model_name).eval()
    g = torch.Generator().manual_seed(4)
    x = torch.rand(8, 3, 28, 28, generator=g)
    out = {}

    def step():
        out["attr"] = integrated_gradients(model, x, 1) if what == "ig" else occlusion(model, x, 1)

    timing = measure(step, args)
    emit(bench_name, "throughput", 8.0 / timing[0], "images/s", True, timing, args,
         checksum=float(out["attr"].abs().sum()))


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_pass = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
                                       nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU())

    def forward(self, x):
        return self.conv_pass(x)


class UNet(nn.Module):
    """The course's UNet, as gan/unet.cpp: depth 2, fmaps f then 2f, max-pool, nearest upsampling, skip
    concatenation, 1x1 output conv, sigmoid."""

    def __init__(self, cin, cout, fmaps=64):
        super().__init__()
        self.down = ConvBlock(cin, fmaps)
        self.bottom = ConvBlock(fmaps, 2 * fmaps)
        self.up = ConvBlock(3 * fmaps, fmaps)
        self.final = nn.Conv2d(fmaps, cout, 1)

    def forward(self, x):
        skip = self.down(x)
        h = self.bottom(F.max_pool2d(skip, 2))
        h = self.up(torch.cat([skip, F.interpolate(h, scale_factor=2, mode="nearest")], 1))
        return torch.sigmoid(self.final(h))


def bench_gan_step(bench_name, args):
    """One step of the course's GAN, as gan::GanTrainer::train_step: G + style encoder (cycle L1 +
    adversarial CE, Adam 1e-4), D (1/2[CE(D(x), y) - CE(D(x_fake), y_t)], Adam 1e-5), EMA 0.999 of both."""
    import copy
    torch.manual_seed(3)
    unet = UNet(3 + 3, 3)
    enc = make_model("dense")
    enc[-1] = nn.Linear(84, 3)
    disc = make_model("dense")
    unet_ema, enc_ema = copy.deepcopy(unet), copy.deepcopy(enc)
    opt_g = torch.optim.Adam(list(unet.parameters()) + list(enc.parameters()), lr=1e-4)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-5)
    g = torch.Generator().manual_seed(4)
    x = torch.rand(32, 3, 28, 28, generator=g)
    y = torch.randint(0, 4, (32,), generator=g)
    out = {}

    def gen(img, style):
        return unet(torch.cat([img, style[:, :, None, None].expand(-1, -1, 28, 28)], 1))

    def step():
        perm = torch.randperm(32)
        x_t, y_t = x[perm], y[perm]
        for p in disc.parameters():
            p.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        s_t, s_x = enc(x_t), enc(x)
        x_fake = gen(x, s_t)
        cycle = F.l1_loss(gen(x_fake, s_x), x)
        (cycle + F.cross_entropy(disc(x_fake), y_t)).backward()
        opt_g.step()
        for p in disc.parameters():
            p.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        (0.5 * (F.cross_entropy(disc(x), y) - F.cross_entropy(disc(x_fake.detach()), y_t))).backward()
        opt_d.step()
        with torch.no_grad():
            for ema, m in ((unet_ema, unet), (enc_ema, enc)):
                for pe, p in zip(ema.parameters(), m.parameters()):
                    pe.mul_(0.999).add_(p, alpha=0.001)
        out["cycle"] = cycle.item()

    timing = measure(step, args)
    emit(bench_name, "throughput", 1.0 / timing[0], "steps/s", True, timing, args, cycle_loss=out["cycle"])


def train(name, model):
    return name, lambda args: bench_train_step(name, model, args)


def attribution(name, what, model):
    return name, lambda args: bench_attribution(name, what, model, args)


BENCHMARKS = [train("dense_train_step", "dense"), train("conv_train_step", "cnn"),
              attribution("ig_dense", "ig", "dense"), attribution("ig_conv", "ig", "cnn"),
              attribution("occlusion_dense", "occlusion", "dense"), attribution("occlusion_conv", "occlusion", "cnn"),
              ("gan_step", lambda args: bench_gan_step("gan_step", args))]

if __name__ == "__main__":
    run(parse_args(__doc__, [name for name, _ in BENCHMARKS]), BENCHMARKS)
