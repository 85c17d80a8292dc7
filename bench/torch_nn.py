#!/usr/bin/python3
"""PyTorch reference for bench/bench_nn.cpp: the same training steps, the same timing protocol.

Run with Debian's PyTorch (apt-get install python3-torch libopenblas0-pthread):
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_nn.py --threads 2

dense_train_step  the course's MLP: Flatten, 2352-256-120-84-4 with ReLUs
ig_dense, ig_conv        Integrated Gradients (50 Gauss-Legendre steps, zero baseline, one batched
                         pass, class 1) on 8 random images, natively (Captum's algorithm): images/s
occlusion_dense/_conv    Occlusion (3x4x4 zero window, stride 4, 49 windows per pass): images/s
gan_step                 one step of the course's GAN (UNet depth 2, 64 fmaps, batch 32): steps/s
mc_dropout               examples/global_local's VGG, MC dropout: features once, classifier T = 100 times
                         in one batched pass (only Dropout active), softmax, uncertainty measures; 100
                         images: images/s
class_vis                class model visualisation of that VGG, classes 0..9 at once, 20 steps of the
                         course recipe (lr 10, clamp, 256 levels, blur sigma 1 every 5 steps): steps/s
tcav                     the TCAV pass: 1,000 random images through the ConvModel below (eval), each one's
                         gradient of the class-0 logit w.r.t. features[4] (ReLU after the second conv,
                         read by a forward hook; batches of 256), flattened, in float64 times 20 unit
                         CAV directions [6272, 20]: images/s
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


def count_params(model):
    """The number of parameters (every line reports it; scripts/bench_nn.sh compares the three sides)."""
    return sum(p.numel() for p in model.parameters())


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
         loss_start=loss_start, loss_end=loss_end, params=count_params(model))


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
         checksum=float(out["attr"].abs().sum()), params=count_params(model))


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
    emit(bench_name, "throughput", 1.0 / timing[0], "steps/s", True, timing, args, cycle_loss=out["cycle"],
         params_g=count_params(unet), params_e=count_params(enc), params_d=count_params(disc))


# As bench_nn.cpp's kLessonBatchNorm (examples/global_local's choice).
LESSON_BATCH_NORM = True


def lesson_vgg():
    """lumen's nn::VGG with torchvision's layout and init, as examples/global_local: features Conv(1,32)[BN]
    ReLU MaxPool, Conv(32,64)[BN] ReLU MaxPool, Conv(64,128)[BN] ReLU MaxPool; AdaptiveAvgPool2d(3); classifier
    1152-256-256-10 with Dropout(0.5)."""
    torch.manual_seed(3)
    layers, cin = [], 1
    for cout in (32, 64, 128):
        layers += [nn.Conv2d(cin, cout, 3, padding=1)] + ([nn.BatchNorm2d(cout)] if LESSON_BATCH_NORM else [])
        layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        cin = cout
    model = nn.Module()
    model.features = nn.Sequential(*layers)
    model.avgpool = nn.AdaptiveAvgPool2d(3)
    model.classifier = nn.Sequential(nn.Linear(128 * 3 * 3, 256), nn.ReLU(True), nn.Dropout(0.5),
                                     nn.Linear(256, 256), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(256, 10))
    for m in model.modules():  # torchvision's VGG(init_weights=True)
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
    model.embed = lambda x: torch.flatten(model.avgpool(model.features(x)), 1)
    model.forward = lambda x: model.classifier(model.embed(x))
    return model.eval()


def uncertainty_measures(p, eps=1e-10):
    """xai::uncertainty_measures natively: p [M, N, K] -> the same eight measures."""
    m, n, _ = p.shape
    mean = p.mean(0)
    entropy = lambda q: -(q * torch.log(q + eps)).sum(-1)
    u = {"mean_probs": mean, "confidence": -mean.amax(1), "total": entropy(mean), "data": entropy(p).mean(0)}
    u["mutual_information"] = u["total"] - u["data"]
    u["epkl"] = -(mean * torch.log(p + eps).mean(0)).sum(1) - u["data"]
    u["reverse_mi"] = u["epkl"] - u["mutual_information"]
    index = mean.argmax(1).view(1, n, 1).expand(m, n, 1)
    u["predicted_variance"] = p.gather(2, index).squeeze(2).var(0, unbiased=False)
    u["mean_variance"] = p.var(0, unbiased=False).mean(1)
    return u


def bench_mc_dropout(bench_name, args, passes=100):
    """The lesson's MC dropout: eval mode with only the Dropout layers active; the deterministic features
    once, then the classifier on them repeated T times (one batched pass), softmax, measures."""
    model = lesson_vgg()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.train()
    g = torch.Generator().manual_seed(4)
    x = torch.rand(100, 1, 28, 28, generator=g)
    out = {}

    def step():
        with torch.no_grad():
            feats = model.embed(x)
            probs = F.softmax(model.classifier(feats.repeat(passes, 1)), 1).view(passes, x.shape[0], -1)
            out["u"] = uncertainty_measures(probs)

    timing = measure(step, args)
    emit(bench_name, "throughput", 100.0 / timing[0], "images/s", True, timing, args,
         checksum=float(out["u"]["total"].sum()), mi_sum=float(out["u"]["mutual_information"].sum()))


def gaussian_blur(images, sigma=1.0):
    """xai::gaussian_blur natively: taps exp(-i^2 / 2 sigma^2), radius ceil(3 sigma), normalised in float64;
    borders reflected as scipy's "reflect" (d c b a | a b c d), rows then columns, depthwise conv2d."""
    import math
    radius = int(math.ceil(3 * sigma))
    taps = torch.tensor([math.exp(-0.5 * i * i / (sigma * sigma)) for i in range(-radius, radius + 1)],
                        dtype=torch.float64)
    taps = (taps / taps.sum()).to(images.dtype)
    c = images.shape[1]

    def reflect(n):
        return torch.tensor([(j if j < n else 2 * n - 1 - j) for j in ((i % (2 * n)) for i in range(-radius, n + radius))])

    x = images.index_select(3, reflect(images.shape[3]))
    x = F.conv2d(x, taps.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    x = x.index_select(2, reflect(images.shape[2]))
    return F.conv2d(x, taps.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def class_model_visualisation(model, classes, steps=20, lr=10.0, blur_every=5, mean=0.2860, std=0.3530, seed=4):
    """The course recipe on all classes at once: ascent on each image's target logit w.r.t. the normalised
    image, then de-normalise, clamp [0, 1], blur every `blur_every` steps, quantise to 256 levels."""
    g = torch.Generator().manual_seed(seed)
    target = torch.tensor(classes).view(-1, 1)
    raw = torch.round(torch.rand(len(classes), 1, 28, 28, generator=g).clamp(0, 1) * 255) / 255
    x = (raw - mean) / std
    logits = []
    for t in range(1, steps + 1):
        xv = x.detach().requires_grad_()
        scores = model(xv).gather(1, target).squeeze(1)
        logits.append(scores.detach().tolist())
        (grad,) = torch.autograd.grad(scores.sum(), xv)
        with torch.no_grad():
            raw = ((x + lr * grad) * std + mean).clamp(0, 1)
            if blur_every and t % blur_every == 0:
                raw = gaussian_blur(raw)
            raw = torch.round(raw * 255) / 255
            x = (raw - mean) / std
    with torch.no_grad():
        logits.append(model(x).gather(1, target).squeeze(1).tolist())
    return raw, logits


def bench_class_vis(bench_name, args, steps=20):
    model = lesson_vgg()
    out = {}

    def step():
        out["images"], out["logits"] = class_model_visualisation(model, list(range(10)), steps=steps)

    timing = measure(step, args)
    first, last = out["logits"][0], out["logits"][-1]
    emit(bench_name, "throughput", steps / timing[0], "steps/s", True, timing, args,
         logit_start=sum(first) / len(first), logit_end=sum(last) / len(last),
         checksum=float(out["images"].sum()))


def bench_tcav(bench_name, args, n=1000, n_cavs=20, batch=256):
    """TCAV's directional derivatives natively, in batches of 256 as xai::layer_gradients' default (on
    this machine faster than one pass of 1,000): per batch a forward with a hook keeping features[4]'s
    output and autograd.grad of the summed class-0 logits w.r.t. it; then one matmul."""
    torch.manual_seed(3)
    model = make_model("cnn").eval()
    g = torch.Generator().manual_seed(4)
    x = torch.rand(n, 3, 28, 28, generator=g)
    v = torch.randn(32 * 14 * 14, n_cavs, dtype=torch.float64, generator=g)
    v = v / v.norm(dim=0, keepdim=True)
    layer = model[0][4]
    out = {}

    def gradients(rows):
        acts = {}
        handle = layer.register_forward_hook(lambda module, inputs, output: acts.__setitem__("a", output))
        try:
            scores = model(rows)
        finally:
            handle.remove()
        (grad,) = torch.autograd.grad(scores[:, 0].sum(), acts["a"])
        return grad.flatten(1).double()

    def step():
        out["s"] = torch.cat([gradients(x[s:s + batch]) for s in range(0, n, batch)]) @ v

    timing = measure(step, args)
    emit(bench_name, "throughput", n / timing[0], "images/s", True, timing, args,
         checksum=float(out["s"].abs().sum()), positive=float((out["s"] > 0).double().mean()))


# examples/explain_text's text CNN (nn::TextCNN): embedding, dropout 0.05, Conv1d widths 2, 3, 4 x 50 over
# [N, D, T], ReLU, max over the windows that start at a real token, dropout, Linear. Vocabulary 5,000,
# embeddings 64, sentences of 40 token ids drawn from 2..4999 (no padding; lumen computes the same mask).
TEXT_VOCAB, TEXT_DIM, TEXT_LEN, TEXT_FILTERS = 5000, 64, 40, ((2, 50), (3, 50), (4, 50))


class TextCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(TEXT_VOCAB, TEXT_DIM)
        self.embedding_dropout = nn.Dropout(0.05)
        self.convs = nn.ModuleList([nn.Conv1d(TEXT_DIM, c, w) for w, c in TEXT_FILTERS])
        self.dropout = nn.Dropout(0.05)
        self.fc = nn.Linear(sum(c for _, c in TEXT_FILTERS), 2)

    def classify(self, e, mask):
        x = self.embedding_dropout(e)
        lengths = torch.full((e.shape[0],), e.shape[1])
        if mask is not None:
            x = x * mask.unsqueeze(2)
            lengths = mask.sum(1)
        xt = x.transpose(1, 2)
        pooled = []
        for conv, (w, _) in zip(self.convs, TEXT_FILTERS):
            y = torch.relu(conv(xt))
            valid = torch.arange(y.shape[2]) < (lengths - w + 1).clamp(min=1).unsqueeze(1)
            pooled.append((y * valid.unsqueeze(1).to(y.dtype)).amax(2))
        return self.fc(self.dropout(torch.cat(pooled, 1)))

    def forward(self, ids):
        return self.classify(self.embedding(ids), (ids != 0).to(torch.float32))


def bench_text_cnn_step(bench_name, args, batch=64):
    """One training step of the text CNN: batch 64 of 40 tokens, cross-entropy, AdamW (lr 1e-3)."""
    torch.manual_seed(3)
    model = TextCNN().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(4)
    ids = torch.randint(2, TEXT_VOCAB, (batch, TEXT_LEN), generator=g)
    y = torch.randint(0, 2, (batch,), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(ids), y).backward()
        opt.step()

    timing = measure(step, args)
    model.eval()
    with torch.no_grad():
        loss_end = F.cross_entropy(model(ids), y).item()
    emit(bench_name, "throughput", 1.0 / timing[0], "steps/s", True, timing, args, loss_end=loss_end)


def bench_ig_text(bench_name, args, n=16, n_steps=50):
    """IG of the class-1 logit w.r.t. the embeddings of 16 sentences, 50 Gauss-Legendre steps, the <pad>
    embedding as baseline, all 800 rows in one pass (as xai::IntegratedGradients); sentences/s."""
    torch.manual_seed(3)
    model = TextCNN().eval()
    g = torch.Generator().manual_seed(4)
    ids = torch.randint(2, TEXT_VOCAB, (n, TEXT_LEN), generator=g)
    out = {}

    def step():
        with torch.no_grad():
            x = model.embedding(ids)
            baseline = model.embedding.weight[0].expand_as(x)
        alphas, weights = leggauss01(n_steps)
        a = torch.tensor(alphas).repeat_interleave(n).view(-1, 1, 1)
        path = (baseline.repeat(n_steps, 1, 1) + a * (x - baseline).repeat(n_steps, 1, 1)).requires_grad_()
        (grad,) = torch.autograd.grad(model.classify(path, None)[:, 1].sum(), path)
        w = torch.tensor(weights).repeat_interleave(n).view(-1, 1, 1)
        out["a"] = (x - baseline) * (grad * w).view(n_steps, n, TEXT_LEN, TEXT_DIM).sum(0)

    timing = measure(step, args)
    emit(bench_name, "throughput", n / timing[0], "sentences/s", True, timing, args, checksum=float(out["a"].abs().sum()))


def train(name, model):
    return name, lambda args: bench_train_step(name, model, args)


def attribution(name, what, model):
    return name, lambda args: bench_attribution(name, what, model, args)


BENCHMARKS = [train("dense_train_step", "dense"), train("conv_train_step", "cnn"),
              attribution("ig_dense", "ig", "dense"), attribution("ig_conv", "ig", "cnn"),
              attribution("occlusion_dense", "occlusion", "dense"), attribution("occlusion_conv", "occlusion", "cnn"),
              ("gan_step", lambda args: bench_gan_step("gan_step", args)),
              ("mc_dropout", lambda args: bench_mc_dropout("mc_dropout", args)),
              ("class_vis", lambda args: bench_class_vis("class_vis", args)),
              ("tcav", lambda args: bench_tcav("tcav", args)),
              ("text_cnn_step", lambda args: bench_text_cnn_step("text_cnn_step", args)),
              ("ig_text", lambda args: bench_ig_text("ig_text", args))]

if __name__ == "__main__":
    run(parse_args(__doc__, [name for name, _ in BENCHMARKS]), BENCHMARKS)
