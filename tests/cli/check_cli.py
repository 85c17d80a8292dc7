#!/usr/bin/env python3
"""The lesson binaries' command lines: every bad value of a numeric option, an unwritable output folder
and a checkpoint with bad metadata are refused at once, with a non-zero exit and a message naming the
option (the folder, the file and field); --help works everywhere, demo_mlp's included.

  tests/cli/check_cli.py DEMO_MLP TRAIN_CLASSIFIER EXPLAIN KNOWLEDGE_EXTRACTION GLOBAL_LOCAL CONCEPTS EXPLAIN_TEXT   (meson test cli)

Every run is given a missing --data folder, so that an option wrongly accepted ends in a data error
(which does not name the option) instead of minutes of training. The checks that need a finished
training step use data/mnist when scripts/get_data.sh has made it, and are skipped otherwise.
"""
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

TIMEOUT_S = 20
failures = []
refusals = []  # (argv, needles, quiet_stdout) of expect_refused, run together by check_refusals


def run(argv, preexec_fn=None):
    """(exit status, stdout, stderr, seconds) of argv; a run past TIMEOUT_S counts as status None."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, preexec_fn=preexec_fn)
    except subprocess.TimeoutExpired as e:
        return None, e.stdout or "", e.stderr or "", time.monotonic() - t0
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def expect_refused(argv, *needles, quiet_stdout=True):
    """argv must exit non-zero, fast, with every needle in its output (and nothing on stdout: no work began)."""
    refusals.append((argv, needles, quiet_stdout))


def check_refusal(argv, needles, quiet_stdout):
    rc, out, err, secs = run(argv)
    text = out + err
    problems = []
    if rc is None:
        problems.append(f"still running after {TIMEOUT_S} s")
    elif rc == 0:
        problems.append("exit status 0")
    problems += [f"no '{n}' in its output" for n in needles if n not in text]
    if quiet_stdout and out.strip():
        problems.append("it started working (stdout: " + out.strip().splitlines()[0] + ")")
    if problems:
        failures.append(f"{' '.join(argv)}: {'; '.join(problems)}\n    output: {text.strip()[:400]}")


def check_refusals():
    """Runs the expect_refused checks so far, four at a time (most of a run is loading the binary)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda r: check_refusal(*r), refusals))
    refusals.clear()


def safetensors_without_tensors(path, metadata):
    """A valid safetensors file holding only metadata (enough for the checks that come before the weights)."""
    header = ('{"__metadata__": {' + ", ".join(f'"{k}": "{v}"' for k, v in metadata.items()) + "}}").encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)


def main():
    demo, train, explain, flagship, global_local, concepts, explain_text = sys.argv[1:8]
    lessons = [train, explain, flagship, global_local, concepts, explain_text]
    missing = ["--data", "/nonexistent-lumen-data"]
    bad_seeds = ["-1", "18446744073709551616", "100000000000000000000000", "12abc", "0x10"]

    # ---- --help lists the options, demo_mlp's too (it ignored every argument)
    for binary in [demo] + lessons:
        rc, out, err, _ = run([binary, "--help"])
        if rc != 0 or "--threads" not in out or "--seed" not in out:
            failures.append(f"{binary} --help: exit {rc}, no --threads/--seed in: {out[:200]!r}")
    expect_refused([demo, "--no-such-option"], "--no-such-option")

    # ---- numeric options out of range, NaN, malformed
    bad = {
        demo: [("--epochs", "0"), ("--lr", "nan"), ("--lr", "-1"), ("--samples", "-5"), ("--batch-size", "0"),
               ("--samples", "99999999999999999999")],
        train: [("--epochs", "0"), ("--epochs", "010x"), ("--batch-size", "-1"), ("--lr", "nan"), ("--lr", "inf")],
        explain: [("--steps", "0"), ("--eval-images", "-1"), ("--lime-samples", "0")],
        flagship: [("--ema", "5"), ("--ema", "nan"), ("--gan-images", "-5"), ("--stargan-ema", "-3"),
                   ("--stargan-res-blocks", "-1"), ("--fmaps", "0"), ("--depth", "4"), ("--lr-g", "nan"),
                   ("--stargan-lr", "0"), ("--classifier-epochs", "-1"), ("--gan-epochs", "0"),
                   ("--stargan-epochs", "0"), ("--stargan-channels", "0"), ("--stargan-batch", "0"),
                   ("--candidates", "0"), ("--flip-images", "0"), ("--dapi-images", "-1"), ("--ig-steps", "0"),
                   ("--gan-images", "99999999999999999999")],
        global_local: [("--members", "0"), ("--epochs", "0"), ("--lr", "nan"), ("--vis-steps", "0"),
                       ("--vis-lr", "-1"), ("--blur-every", "0"), ("--jitter", "28"), ("--tv", "-1"),
                       ("--l2-decay", "inf"), ("--saliency-reduce", "median"), ("--mc-passes", "0"),
                       ("--eval-images", "1"), ("--seg-threshold", "1.5"), ("--seg-members", "0"),
                       ("--train-images", "60001")],
        concepts: [("--cnn-epochs", "0"), ("--fashion-epochs", "-1"), ("--fashion-train-images", "60001"),
                   ("--random-sets", "1"), ("--concept-images", "3"), ("--class-images", "0"), ("--ig-steps", "0"),
                   ("--alpha", "0.9"), ("--alpha", "nan"), ("--rcv-images", "5"), ("--lime-samples", "1"),
                   ("--lime-top-k", "0"), ("--stability-seeds", "1"), ("--stability-images", "0"),
                   ("--via-image", "4"), ("--metric-images", "2"),
                   ("--robustness-images", "1"), ("--fashion-test-images", "5"), ("--cav-epochs", "0"),
                   ("--metric-ig-steps", "1"), ("--nt-samples", "0"), ("--stability-samples", "5")],
        explain_text: [("--embedding-dim", "1"), ("--embedding-std", "0"), ("--embedding-std", "nan"), ("--min-count", "0"), ("--lstm-hidden", "0"), ("--batch-size", "0"), ("--max-len", "3"),
                       ("--cnn-epochs", "0"), ("--lstm-epochs", "-2"), ("--bow-steps", "0"), ("--lr", "nan"),
                       ("--lr", "0"), ("--model-seeds", "0"), ("--random-models", "0"), ("--eval-sentences", "9"),
                       ("--eval-sentences", "601"), ("--ig-steps", "0"), ("--shapley-samples", "0"),
                       ("--lime-samples", "9"), ("--heatmap-sentences", "0"), ("--faithfulness-k", "0"),
                       ("--adversarial-sentences", "0"), ("--txray-epochs", "0"), ("--finetune-epochs", "0")],
    }
    for binary in [demo] + lessons:
        seeds = bad_seeds if binary == demo else bad_seeds[:3]  # the malformed ones once suffice
        options = bad[binary] + [("--threads", "-1")] + [("--seed", s) for s in seeds]
        for option, value in options:
            expect_refused([binary, option, value] + (missing if binary != demo else []), option, f"'{value}'")

    with tempfile.TemporaryDirectory(prefix="lumen-cli-") as tmp:
        plain = os.path.join(tmp, "plain-file")
        open(plain, "w").close()

        # ---- an output folder that cannot be written: refused before any work (root may write to any
        # folder, so: a folder under a regular file, and /proc)
        for binary in lessons:
            for out_dir in [os.path.join(plain, "out"), "/proc/lumen-cli-out"]:
                expect_refused([binary, "--out", out_dir] + missing, f"'{out_dir}'")
        # the GAN's checkpoint folder inside --out is checked with it
        gan_is_a_file = os.path.join(tmp, "ke")
        os.makedirs(gan_is_a_file)
        open(os.path.join(gan_is_a_file, "stargan"), "w").close()
        expect_refused([flagship, "--stargan", "--out", gan_is_a_file] + missing,
                       f"'{os.path.join(gan_is_a_file, 'stargan')}'")

        # ---- a checkpoint whose metadata seed is not a number: the file and the field are named
        ckpt = os.path.join(tmp, "seed-abc.safetensors")
        safetensors_without_tensors(ckpt, {"model": "dense", "seed": "abc"})
        expect_refused([explain, "--dense", ckpt, "--out", os.path.join(tmp, "explain")] + missing,
                       f"'{ckpt}'", "metadata 'seed' = 'abc', expected an integer")
        check_refusals()

        # ---- with the real data: a kept classifier of another run, and a write that fails after training
        source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        data = os.path.join(source, "data")
        if not os.path.exists(os.path.join(data, "mnist", "train-images-idx3-ubyte.gz")):
            print("data/mnist missing (scripts/get_data.sh): skipped the checks that need it")
        else:
            ke_out = os.path.join(tmp, "ke-reuse")
            os.makedirs(ke_out)
            kept = os.path.join(ke_out, "classifier_dense.safetensors")
            safetensors_without_tensors(kept, {"model": "dense", "seed": "7"})
            expect_refused([flagship, "--data", data, "--out", ke_out], f"'{kept}'",
                           "metadata 'seed' = 7, expected this run's --seed 0", quiet_stdout=False)
            check_refusals()

            # A file-size limit makes the checkpoint's write(2) fail part-way (EFBIG), as a full disk would.
            def small_files():
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))

            out_dir = os.path.join(tmp, "classifier")
            argv = [train, "--data", data, "--out", out_dir, "--epochs", "1", "--batch-size", "8000"]
            rc, out, err, _ = run(argv, preexec_fn=small_files)
            leftovers = [f for f in os.listdir(out_dir) if ".tmp" in f] if os.path.isdir(out_dir) else []
            if rc in (0, None) or "wrote" in out or "cannot write" not in err or leftovers:
                failures.append(f"{' '.join(argv)} with files limited to 200 KB: exit {rc}, "
                                f"temporary files {leftovers}; stdout {out[-200:]!r}; stderr {err[-300:]!r}")

    if failures:
        print(f"{len(failures)} failure(s):")
        for f in failures:
            print("  " + f)
        return 1
    print("every bad command line was refused with a message naming it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
