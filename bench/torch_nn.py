#!/usr/bin/python3
"""PyTorch reference for bench/bench_nn.cpp: the same training steps, the same timing protocol.

Run with Debian's PyTorch (apt-get install python3-torch libopenblas0-pthread):
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_nn.py --threads 2

dense_train_step  the course's MLP: Flatten, 2352-256-120-84-4 with ReLUs
conv_train_step   Conv2d(3,16,3,p1) ReLU MaxPool2d(2) Conv2d(16,32,3,p1) ReLU MaxPool2d(2),
                  Flatten Linear(1568,64) ReLU Linear(64,4)   (lumen's ConvModel)
One step = forward, cross-entropy, backward, torch.optim.Adam(lr=1e-4) with its defaults, on a fixed
batch of 32 random images [32, 3, 28, 28] in [0, 1] with random labels 0..3, float32.

Prints one JSON object per line: an "info" line, then one line per benchmark with name, metric, value,
unit, higher_is_better, median_ms, best_ms, iters, repeats, loss_start, loss_end. Protocol (bench_nn's):
warm-up, then `repeats` timed runs of `iters` iterations each, `iters` chosen so that one run takes
>= min_time / repeats; `value` comes from the median run.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def measure(step, min_time, repeats, warmup):
    for _ in range(warmup):
        step()
    per_run = min_time / repeats  # calibrate: iterations per run so that one run lasts >= per_run
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
    med, best, iters = measure(step, args.min_time, args.repeats, args.warmup)
    with torch.no_grad():
        loss_end = F.cross_entropy(model(x), y).item()
    print(json.dumps({"name": bench_name, "metric": "throughput", "value": round(1.0 / med, 4), "unit": "steps/s",
                      "higher_is_better": True, "median_ms": round(med * 1e3, 4), "best_ms": round(best * 1e3, 4),
                      "iters": iters, "repeats": args.repeats, "loss_start": round(loss_start, 6),
                      "loss_end": round(loss_end, 6)}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-time", type=float, default=1.0, help="seconds timed per benchmark (all repeats)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--only", default="", help="comma-separated benchmark names (dense_train_step,conv_train_step)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    print(json.dumps({"name": "info", "impl": "pytorch", "version": torch.__version__,
                      "threads": torch.get_num_threads(), "python": sys.version.split()[0],
                      "protocol": f"median of {args.repeats} runs, >= {args.min_time}s timed, {args.warmup} warm-up"}),
          flush=True)
    only = set(filter(None, args.only.split(",")))
    for name, model in (("dense_train_step", "dense"), ("conv_train_step", "cnn")):
        if not only or name in only:
            bench_train_step(name, model, args)


if __name__ == "__main__":
    main()
