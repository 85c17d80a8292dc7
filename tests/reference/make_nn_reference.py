#!/usr/bin/python3
"""PyTorch reference values for lumen's nn/ tests (tests/nn/test_layers.cpp, tests/nn/test_optim.cpp).

Run with Debian's PyTorch:  /usr/bin/python3 tests/reference/make_nn_reference.py
Writes, next to this script (small files, committed):
  nn_layers.safetensors  for each case <c>: the layer's state before the call (<c>.state.<name>), the
                         input <c>.x, the output <c>.y, the upstream gradient <c>.gy, and the gradients
                         <c>.gx and <c>.grad.<param>; buffers after the call as <c>.after.<name>.
                         Losses: <c>.x, <c>.target, <c>.loss, <c>.gx (gradient of the loss, or of
                         sum(loss * gy) for reduction 'none').
  nn_optim.safetensors   parameters after each optimizer step (<opt>.w.<k>, <opt>.b.<k>), the lr
                         sequences of the schedules, and a clip_grad_norm_ case.
The hyper-parameters of each case are written both here and in the C++ tests: keep them in sync.
safetensors is written by tests/reference/safetensors_io.py (by hand, so that only torch is needed).
"""
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors_io import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))


out = {}


def rnd(*shape):
    return torch.randn(*shape)


def layer_case(name, module, x, randomize=(), train=True):
    """Forward + backward of module on x, with the parameters named in `randomize` drawn at random
    (so that affine weights are not just ones and zeros)."""
    with torch.no_grad():
        for pname in randomize:
            getattr(module, pname).copy_(torch.randn_like(getattr(module, pname)) * 0.5 + (1.0 if pname == "weight" else 0.0))
    module.train(train)
    for k, v in module.state_dict().items():
        out[f"{name}.state.{k}"] = v.clone()
    x = x.clone()
    if x.is_floating_point():
        x.requires_grad_()
    y = module(x)
    gy = torch.randn_like(y)
    (y * gy).sum().backward()
    out[f"{name}.x"], out[f"{name}.y"], out[f"{name}.gy"] = x.detach(), y.detach(), gy
    if x.is_floating_point():
        out[f"{name}.gx"] = x.grad
    for k, p in module.named_parameters():
        out[f"{name}.grad.{k}"] = p.grad
    for k, b in module.named_buffers():
        out[f"{name}.after.{k}"] = b.clone()


def loss_case(name, fn, x, target, reduction_none=False):
    x = x.clone().requires_grad_()
    loss = fn(x, target)
    if reduction_none:
        gy = torch.randn_like(loss)
        (loss * gy).sum().backward()
        out[f"{name}.gy"] = gy
    else:
        loss.backward()
    out[f"{name}.x"], out[f"{name}.target"], out[f"{name}.loss"], out[f"{name}.gx"] = x.detach(), target, loss.detach(), x.grad


def make_layers():
    torch.manual_seed(0)
    layer_case("linear", nn.Linear(5, 3), rnd(4, 5))
    layer_case("linear3d", nn.Linear(5, 3), rnd(2, 3, 5))
    layer_case("linear_nobias", nn.Linear(5, 3, bias=False), rnd(4, 5))
    layer_case("conv", nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), rnd(2, 4, 7, 7))
    layer_case("conv_dilated", nn.Conv2d(3, 4, (3, 2), stride=(1, 2), padding=(2, 1), dilation=2), rnd(2, 3, 6, 7))
    layer_case("convT", nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), rnd(2, 4, 4, 5))
    layer_case("maxpool", nn.MaxPool2d(3, stride=2, padding=1), rnd(1, 2, 9, 8))
    layer_case("maxpool_ceil", nn.MaxPool2d(2, ceil_mode=True), rnd(1, 2, 7, 7))
    layer_case("avgpool", nn.AvgPool2d(3, stride=2, padding=1), rnd(1, 2, 9, 8))
    layer_case("avgpool_nopad", nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), rnd(1, 2, 9, 8))
    layer_case("adaptive", nn.AdaptiveAvgPool2d((3, 2)), rnd(2, 3, 7, 5))
    bn = nn.BatchNorm2d(3, momentum=0.2)
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(3) * 0.3)
        bn.running_var.copy_(torch.rand(3) + 0.5)
    layer_case("bn_train", bn, rnd(4, 3, 5, 5) * 2 + 1, randomize=("weight", "bias"))
    bn_eval = nn.BatchNorm2d(3)
    with torch.no_grad():
        bn_eval.running_mean.copy_(torch.randn(3))
        bn_eval.running_var.copy_(torch.rand(3) + 0.5)
        bn_eval.num_batches_tracked.fill_(7)
    layer_case("bn_eval", bn_eval, rnd(2, 3, 4, 4), randomize=("weight", "bias"), train=False)
    layer_case("in_affine", nn.InstanceNorm2d(3, affine=True), rnd(2, 3, 4, 5) * 3 - 1, randomize=("weight", "bias"))
    layer_case("in_plain", nn.InstanceNorm2d(3), rnd(2, 3, 4, 5))
    layer_case("layernorm", nn.LayerNorm([4, 5]), rnd(2, 3, 4, 5) + 2, randomize=("weight", "bias"))
    layer_case("embedding", nn.Embedding(10, 4), torch.tensor([[1, 7, 1], [9, 0, 7]]))
    layer_case("up_nearest", nn.Upsample(scale_factor=2, mode="nearest"), rnd(1, 2, 3, 4))
    layer_case("up_nearest_size", nn.Upsample(size=(5, 7), mode="nearest"), rnd(1, 2, 3, 4))
    layer_case("up_bilinear", nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), rnd(1, 2, 3, 4))
    layer_case("up_bilinear_ac", nn.Upsample(size=(5, 7), mode="bilinear", align_corners=True), rnd(1, 2, 3, 4))
    layer_case("leaky_relu", nn.LeakyReLU(0.2), rnd(3, 4))
    layer_case("sigmoid", nn.Sigmoid(), rnd(3, 4) * 3)
    layer_case("tanh", nn.Tanh(), rnd(3, 4) * 2)
    layer_case("gelu", nn.GELU(), rnd(3, 4) * 2)

    # losses
    logits, t = rnd(5, 4) * 2, torch.tensor([0, 3, 1, 3, 2])
    loss_case("ce_mean", F.cross_entropy, logits, t)
    loss_case("ce_sum", lambda x, y: F.cross_entropy(x, y, reduction="sum"), logits, t)
    loss_case("ce_none", lambda x, y: F.cross_entropy(x, y, reduction="none"), logits, t, reduction_none=True)
    loss_case("ce_smooth", lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1), logits, t)
    loss_case("ce_smooth_sum", lambda x, y: F.cross_entropy(x, y, reduction="sum", label_smoothing=0.25), logits, t)
    loss_case("ce_probs", F.cross_entropy, logits, torch.softmax(rnd(5, 4), 1))
    loss_case("ce_spatial", F.cross_entropy, rnd(2, 4, 3), torch.tensor([[0, 3, 2], [1, 1, 0]]))
    loss_case("nll", F.nll_loss, torch.log_softmax(rnd(5, 4), 1), t)
    x = torch.tensor([-30.0, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0, 1.5])
    y = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.3])
    loss_case("bce", F.binary_cross_entropy_with_logits, x, y)
    loss_case("bce_none", lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"), x, y, reduction_none=True)
    pw = torch.tensor([0.5, 2.0, 3.0])
    out["bce_pw.pos_weight"] = pw
    loss_case("bce_pw", lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw), rnd(4, 3) * 3,
              (torch.rand(4, 3) > 0.5).float())
    a, b = rnd(3, 4), rnd(3, 4)
    loss_case("mse", F.mse_loss, a, b)
    loss_case("mse_sum", lambda p, q: F.mse_loss(p, q, reduction="sum"), a, b)
    loss_case("l1", F.l1_loss, a, b)
    loss_case("l1_none", lambda p, q: F.l1_loss(p, q, reduction="none"), a, b, reduction_none=True)
    make_text_layers()
    write_safetensors(os.path.join(HERE, "nn_layers.safetensors"), out, {"generator": "make_nn_reference.py",
                                                                          "torch": torch.__version__})


def lstm_case(name, lstm, x, lengths=None):
    """An LSTM (batch_first) with upstream gradients on output, h_n and c_n. With lengths, x's rows are
    padded at the end and the reference is PyTorch's packed-sequence run: output re-padded with zeros,
    h_n/c_n at each row's last real step; <name>.mask is the 1/0 mask lumen gets instead."""
    for k, v in lstm.state_dict().items():
        out[f"{name}.state.{k}"] = v.clone()
    x = x.clone().requires_grad_()
    if lengths is None:
        y, (h, c) = lstm(x)
    else:
        packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        yp, (h, c) = lstm(packed)
        y, _ = nn.utils.rnn.pad_packed_sequence(yp, batch_first=True, total_length=x.shape[1])
        out[f"{name}.mask"] = (torch.arange(x.shape[1])[None, :] < torch.tensor(lengths)[:, None]).float()
    gy, gh, gc = torch.randn_like(y), torch.randn_like(h), torch.randn_like(c)
    ((y * gy).sum() + (h * gh).sum() + (c * gc).sum()).backward()
    out[f"{name}.x"], out[f"{name}.y"], out[f"{name}.h_n"], out[f"{name}.c_n"] = x.detach(), y.detach(), h.detach(), c.detach()
    out[f"{name}.gy"], out[f"{name}.gh"], out[f"{name}.gc"], out[f"{name}.gx"] = gy, gh, gc, x.grad
    for k, p in lstm.named_parameters():
        out[f"{name}.grad.{k}"] = p.grad


def make_text_layers():
    """Conv1d and LSTM (seeded on their own, so the cases above keep their values)."""
    torch.manual_seed(3)
    layer_case("conv1d", nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), rnd(2, 4, 9))
    layer_case("conv1d_dilated", nn.Conv1d(3, 5, 2, padding=2, dilation=2, bias=False), rnd(2, 3, 7))
    lstm_case("lstm_2layers", nn.LSTM(3, 4, num_layers=2, batch_first=True), rnd(2, 5, 3))
    lstm_case("lstm_bi", nn.LSTM(3, 4, bidirectional=True, batch_first=True), rnd(2, 5, 3))
    lstm_case("lstm_masked", nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True), rnd(3, 6, 3),
              lengths=[6, 2, 4])


# ---- optimizers: a tiny linear least-squares problem, 5 steps each.
def make_optim():
    res = {}
    torch.manual_seed(1)
    w0, b0 = torch.randn(3, 4), torch.randn(3)
    X, Y = torch.randn(8, 4), torch.randn(8, 3)
    res["problem.w0"], res["problem.b0"], res["problem.X"], res["problem.Y"] = w0, b0, X, Y
    configs = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
        "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01),
        "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
        "adam": lambda p: torch.optim.Adam(p, lr=0.01),
        "adam_wd_amsgrad": lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1,
                                                      amsgrad=True),
        "adamw": lambda p: torch.optim.AdamW(p, lr=0.01),
        "adamw_wd": lambda p: torch.optim.AdamW(p, lr=0.03, betas=(0.85, 0.95), weight_decay=0.5),
    }
    for name, make in configs.items():
        w, b = w0.clone().requires_grad_(), b0.clone().requires_grad_()
        opt = make([w, b])
        for k in range(5):
            opt.zero_grad()
            F.mse_loss(X @ w.t() + b, Y).backward()
            opt.step()
            res[f"{name}.w.{k}"], res[f"{name}.b.{k}"] = w.detach().clone(), b.detach().clone()

    def lrs(make_sched, epochs=12, lr=0.1):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=lr)
        sched = make_sched(opt)
        seq = [opt.param_groups[0]["lr"]]
        for _ in range(epochs):
            opt.step()
            sched.step()
            seq.append(opt.param_groups[0]["lr"])
        return torch.tensor(seq, dtype=torch.float64)

    res["steplr.lrs"] = lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5))
    res["cosine.lrs"] = lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01))

    # ReduceLROnPlateau on a fixed metric sequence: lr and num_bad_epochs after each step.
    metrics = [1.0, 0.9, 0.95, 0.9, 0.91, 0.89995, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.7, 0.75, 0.75, 0.75,
               0.75, 0.75, 0.75, 0.75, 0.75] + [0.75] * 8  # 13 bad epochs after 0.7: the default patience 10 runs out
    plateau = {
        "plateau_min": dict(mode="min", factor=0.5, patience=2, cooldown=1, min_lr=0.02),
        "plateau_max_abs": dict(mode="max", factor=0.3, patience=1, threshold=0.05, threshold_mode="abs"),
        "plateau_default": dict(),
    }
    for name, kw in plateau.items():
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        seq, bad = [], []
        for m in (metrics if kw.get("mode") != "max" else [-v for v in metrics]):
            opt.step()
            sched.step(m)
            seq.append(opt.param_groups[0]["lr"])
            bad.append(sched.num_bad_epochs)
        res[f"{name}.lrs"] = torch.tensor(seq, dtype=torch.float64)
        res[f"{name}.bad"] = torch.tensor(bad, dtype=torch.float64)
    res["plateau.metrics"] = torch.tensor(metrics, dtype=torch.float64)

    # clip_grad_norm_: two gradients, clipped to 1.5 (2-norm) and to 0.5 (inf-norm).
    for name, max_norm, norm_type in (("clip2", 1.5, 2.0), ("clipinf", 0.5, math.inf)):
        p1, p2 = torch.zeros(3, 4, requires_grad=True), torch.zeros(5, requires_grad=True)
        p1.grad, p2.grad = torch.randn(3, 4), torch.randn(5)
        res[f"{name}.g1"], res[f"{name}.g2"] = p1.grad.clone(), p2.grad.clone()
        total = torch.nn.utils.clip_grad_norm_([p1, p2], max_norm, norm_type)
        res[f"{name}.total"] = total.reshape(1).double()
        res[f"{name}.g1_after"], res[f"{name}.g2_after"] = p1.grad.clone(), p2.grad.clone()
    write_safetensors(os.path.join(HERE, "nn_optim.safetensors"), res, {"generator": "make_nn_reference.py",
                                                                        "torch": torch.__version__})


if __name__ == "__main__":
    make_layers()
    make_optim()
    for f in ("nn_layers.safetensors", "nn_optim.safetensors"):
        print(f, os.path.getsize(os.path.join(HERE, f)), "bytes")
