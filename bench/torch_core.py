#!/usr/bin/python3
"""PyTorch reference for bench/bench_core.cpp: the same work, the same timing protocol.

Run with Debian's PyTorch (apt-get install python3-torch libopenblas0-pthread):
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_core.py --threads 2

Prints one JSON object per line: an "info" line, then one line per benchmark with
name, metric, value, unit, higher_is_better, median_ms, best_ms, iters, repeats.
The command line, the timing protocol and the JSON lines are torch_harness.py's (bench/harness.h's).
"""
import torch
import torch.nn.functional as F

from torch_harness import emit, measure, parse_args, run


def bench_sgemm(n, args):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    with torch.no_grad():
        timing = measure(lambda: torch.matmul(a, b), args)
    emit(f"sgemm_{n}", "throughput", 2.0 * n ** 3 / timing[0] / 1e9, "GFLOP/s", True, timing, args)


def bench_conv(args):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(32, 64, 28, 28, generator=g).requires_grad_()
    w = (torch.randn(64, 64, 3, 3, generator=g) * 0.05).requires_grad_()
    b = torch.randn(64, generator=g).requires_grad_()
    gy = torch.randn(32, 64, 28, 28, generator=g)

    def step():
        x.grad = w.grad = b.grad = None
        y = F.conv2d(x, w, b, stride=1, padding=1)
        y.backward(gy)  # dx, dw, db

    timing = measure(step, args)
    emit("conv2d_fwd_bwd", "time", timing[0] * 1e3, "ms", False, timing, args)


def bench_mlp(args):
    torch.manual_seed(3)
    dims = [2352, 256, 120, 84, 4]
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))  # U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        if i + 2 < len(dims):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(32, dims[0])
    t = torch.randint(0, 4, (32,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        opt.step()

    with torch.no_grad():
        loss_start = F.cross_entropy(model(x), t).item()
    timing = measure(step, args)
    with torch.no_grad():
        loss_end = F.cross_entropy(model(x), t).item()
    emit("mlp_train_step", "throughput", 1.0 / timing[0], "steps/s", True, timing, args,
         loss_start=loss_start, loss_end=loss_end)


BENCHMARKS = [("sgemm_512", lambda args: bench_sgemm(512, args)), ("sgemm_1024", lambda args: bench_sgemm(1024, args)),
              ("conv2d_fwd_bwd", bench_conv), ("mlp_train_step", bench_mlp)]

if __name__ == "__main__":
    run(parse_args(__doc__, [name for name, _ in BENCHMARKS]), BENCHMARKS)
