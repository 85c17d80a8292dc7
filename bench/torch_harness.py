"""What torch_core.py and torch_nn.py share with each other and with lumen's bench/harness.h: the
command line, the timing protocol and the JSON lines.

Protocol: `warmup` iterations, then `repeats` timed runs of `iters` iterations each, with `iters`
calibrated so that one run lasts >= min_time / repeats; `value` comes from the median run (best_ms is
printed too). Output: an "info" line, then one JSON object per benchmark.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch


def parse_args(doc, names):
    """[--threads N] [--min-time S] [--repeats R] [--warmup W] [--only a,b,...]; an --only name that is
    not one of `names` is an error (exit status 2), as in lumen's harness."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-time", type=float, default=1.0, help="seconds timed per benchmark (all repeats)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--only", default="", help="comma-separated benchmark names: " + ",".join(names))
    args = p.parse_args()
    args.repeats = max(1, args.repeats)
    args.warmup = max(0, args.warmup)
    if args.threads < 1 or not args.min_time > 0:
        p.error("--threads and --min-time must be positive")
    args.only = set(filter(None, args.only.split(",")))
    unknown = sorted(args.only - set(names))
    if unknown:
        p.error(f"no benchmark named {', '.join(unknown)} (known: {','.join(names)})")
    return args


def measure(step, args):
    """Seconds per iteration of the median and of the best timed run, and the iterations per run."""
    for _ in range(args.warmup):
        step()
    per_run = args.min_time / args.repeats  # calibrate: iterations per run so that one run lasts >= per_run
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
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        times.append((time.perf_counter() - t0) / iters)
    return statistics.median(times), min(times), iters


def emit(name, metric, value, unit, higher_is_better, timing, args, **extra):
    """One benchmark's JSON line; `extra` holds numbers that show the work was done (a loss, a checksum)."""
    med, best, iters = timing
    print(json.dumps({"name": name, "metric": metric, "value": round(value, 4), "unit": unit,
                      "higher_is_better": higher_is_better, "median_ms": round(med * 1e3, 4),
                      "best_ms": round(best * 1e3, 4), "iters": iters, "repeats": args.repeats,
                      **{k: float(f"{v:.6g}") for k, v in extra.items()}}), flush=True)


def run(args, benchmarks):
    """Sets PyTorch's threads, prints the "info" line, runs the selected (name, fn(args)) benchmarks."""
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    print(json.dumps({"name": "info", "impl": "pytorch", "version": torch.__version__,
                      "threads": torch.get_num_threads(), "python": sys.version.split()[0],
                      "protocol": f"median of {args.repeats} runs, >= {args.min_time}s timed, {args.warmup} warm-up"}),
          flush=True)
    for name, fn in benchmarks:
        if not args.only or name in args.only:
            fn(args)
