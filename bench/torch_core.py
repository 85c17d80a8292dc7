#!/usr/bin/python3
"""PyTorch reference for bench/bench_core.cpp: the same work, the same timing protocol.

Run with Debian's PyTorch (apt-get install python3-torch libopenblas0-pthread):
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_core.py --threads 2

Prints one JSON object per line: an "info" line, then one line per benchmark with
name, metric, value, unit, higher_is_better, median_ms, best_ms, iters, repeats.
Protocol (same as bench_core): warm-up, then `repeats` timed runs of `iters` iterations each, where
`iters` is chosen so that one run takes >= min_time / repeats; `value` comes from the median run.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def measure(step, min_time, repeats, warmup):
    for _ in range(warmup):
        step()
    # Calibrate: iterations per run so that one run lasts >= min_time / repeats.
    per_run = min_time / repeats
    iters = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        dt = time.perf_counter() - t0
        if dt >= per_run:
            break
        iters = max(iters + 1, int(math.ceil(iters * min(10.0, 1.2 * per_run / max(dt, 1e-9)))))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        times.append((time.perf_counter() - t0) / iters)
    return statistics.median(times), min(times), iters


def emit(name, metric, value, unit, higher, med, best, iters, repeats, **extra):
    print(json.dumps({"name": name, "metric": metric, "value": round(value, 4), "unit": unit,
                      "higher_is_better": higher, "median_ms": round(med * 1e3, 4),
                      "best_ms": round(best * 1e3, 4), "iters": iters, "repeats": repeats, **extra}), flush=True)


def bench_sgemm(n, args):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    with torch.no_grad():
        med, best, iters = measure(lambda: torch.matmul(a, b), args.min_time, args.repeats, args.warmup)
    emit(f"sgemm_{n}", "throughput", 2.0 * n ** 3 / med / 1e9, "GFLOP/s", True, med, best, iters, args.repeats)


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

    med, best, iters = measure(step, args.min_time, args.repeats, args.warmup)
    emit("conv2d_fwd_bwd", "time", med * 1e3, "ms", False, med, best, iters, args.repeats)


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
    med, best, iters = measure(step, args.min_time, args.repeats, args.warmup)
    with torch.no_grad():
        loss_end = F.cross_entropy(model(x), t).item()
    emit("mlp_train_step", "throughput", 1.0 / med, "steps/s", True, med, best, iters, args.repeats,
         loss_start=round(loss_start, 6), loss_end=round(loss_end, 6))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-time", type=float, default=1.0, help="seconds timed per benchmark (all repeats)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--only", default="", help="comma-separated benchmark names (sgemm_512,sgemm_1024,conv2d_fwd_bwd,mlp_train_step)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    print(json.dumps({"name": "info", "impl": "pytorch", "version": torch.__version__,
                      "threads": torch.get_num_threads(), "python": sys.version.split()[0],
                      "protocol": f"median of {args.repeats} runs, >= {args.min_time}s timed, {args.warmup} warm-up"}),
          flush=True)
    only = set(filter(None, args.only.split(",")))
    benches = [("sgemm_512", lambda: bench_sgemm(512, args)), ("sgemm_1024", lambda: bench_sgemm(1024, args)),
               ("conv2d_fwd_bwd", lambda: bench_conv(args)), ("mlp_train_step", lambda: bench_mlp(args))]
    for name, fn in benches:
        if not only or name in only:
            fn()


if __name__ == "__main__":
    main()
