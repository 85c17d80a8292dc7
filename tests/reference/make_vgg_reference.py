#!/usr/bin/python3
"""PyTorch/torchvision reference values for lumen's VGG (tests/nn/test_vgg.cpp).

Run with Debian's PyTorch and torchvision:  /usr/bin/python3 tests/reference/make_vgg_reference.py
Writes vgg_reference.safetensors next to this script (small, committed).

The models are torchvision's own class, torchvision.models.vgg.VGG(make_layers(CFG, batch_norm=...)), so
the names and indices of `features` are exactly torchvision's. torchvision 0.14 hard-codes the head as
AdaptiveAvgPool2d((7, 7)) and a 512*7*7 -> 4096 -> 4096 -> classes classifier, far too big to commit, so
after construction `avgpool` is replaced by AdaptiveAvgPool2d((2, 2)) and `classifier` by a Sequential
with the same layout and indices (0 Linear, 1 ReLU, 2 Dropout, 3 Linear, 4 ReLU, 5 Dropout, 6 Linear) of
width HIDDEN. In lumen that is VggOptions{.avgpool_size = 2, .hidden = HIDDEN}.

Two cases, inputs [2, 3, 20, 20] (two max-pools: 20 -> 10 -> 5, then 5 -> 2 adaptive bins, which
overlap: rows [0, 3) and [2, 5)):
  plain.*  CFG without batch norm
  bn.*     CFG with batch_norm=True; BN weight, bias and running statistics randomised; eval mode
For each: <case>.state.<name> (the state_dict, names as torchvision writes them, num_batches_tracked
int64), <case>.x (input) and <case>.logits (eval-mode output, float32). After torchvision's init, the
weights are redrawn He-style (fan_in) and the biases drawn too, so that the logits are O(1), vary with
the input, and a tensor loaded into the wrong layer shows in them.
The configuration (CFG, IN_CHANNELS, CLASSES, HIDDEN, AVGPOOL) is repeated in the C++ test: keep them in sync.
safetensors is written by hand (8-byte header length, JSON header, raw bytes) so that only torch is needed.
"""
import os

import torch
import torch.nn as nn
from torchvision.models.vgg import VGG, make_layers
from safetensors_io import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))

CFG = [8, "M", 16, 16, "M", 32]
IN_CHANNELS, CLASSES, HIDDEN, AVGPOOL = 3, 10, 16, 2
LAST_CHANNELS = 32


def small_vgg(batch_norm):
    net = VGG(make_layers(CFG, batch_norm=batch_norm), num_classes=CLASSES, init_weights=True)
    net.avgpool = nn.AdaptiveAvgPool2d((AVGPOOL, AVGPOOL))
    net.classifier = nn.Sequential(
        nn.Linear(LAST_CHANNELS * AVGPOOL * AVGPOOL, HIDDEN), nn.ReLU(True), nn.Dropout(0.5),
        nn.Linear(HIDDEN, HIDDEN), nn.ReLU(True), nn.Dropout(0.5),
        nn.Linear(HIDDEN, CLASSES))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):  # He (fan_in): the logits are O(1) and vary with the input
                m.weight.copy_(torch.randn_like(m.weight) * (2.0 / m.weight[0].numel()) ** 0.5)
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.bias.copy_(torch.randn_like(m.bias) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.3 * torch.randn_like(m.weight))
                m.bias.copy_(0.2 * torch.randn_like(m.bias))
                m.running_mean.copy_(0.5 * torch.randn_like(m.running_mean))
                m.running_var.copy_(0.5 + torch.rand_like(m.running_var))
                m.num_batches_tracked.fill_(7)
    return net.eval()


def main():
    torch.manual_seed(0)
    out = {}
    for case, batch_norm in (("plain", False), ("bn", True)):
        net = small_vgg(batch_norm)
        x = torch.randn(2, IN_CHANNELS, 20, 20)
        with torch.no_grad():
            logits = net(x)
        for k, v in net.state_dict().items():
            out[f"{case}.state.{k}"] = v.clone()
        out[f"{case}.x"], out[f"{case}.logits"] = x, logits
        # the logits must depend on the input, not just on the last bias
        print(case, "logits", logits.abs().max().item(), "between samples", (logits[0] - logits[1]).abs().max().item())
    path = os.path.join(HERE, "vgg_reference.safetensors")
    write_safetensors(path, out, {"generator": "make_vgg_reference.py", "torch": torch.__version__})
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
