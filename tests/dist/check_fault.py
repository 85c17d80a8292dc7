#!/usr/bin/env python3
"""A rank that dies or hangs must end the job with a clear message in bounded time.

  check_fault.py MPIRUN DIST_FAULT hang|die

'hang': rank 1 is alive but never joins; rank 0's barrier must give up after LUMEN_DIST_TIMEOUT (3 s)
with lumen's message. 'die': rank 1 exits; mpirun or lumen's timeout must end rank 0.
"""
import os
import subprocess
import sys
import time

mpirun, program, mode = sys.argv[1:4]
env = dict(os.environ, LUMEN_DIST_TIMEOUT="3")
start = time.monotonic()
try:
    r = subprocess.run([mpirun, "-np", "2", "--oversubscribe", program, mode], env=env, capture_output=True,
                       text=True, timeout=90)
except subprocess.TimeoutExpired:
    sys.exit(f"FAIL: the job with a {mode} rank still ran after 90 s")
elapsed = time.monotonic() - start
out = r.stdout + r.stderr
print(out[-3000:])
print(f"exit status {r.returncode} after {elapsed:.1f} s")
if r.returncode == 0 or "finished a collective its peer never joined" in out:
    sys.exit("FAIL: the job succeeded although a rank was broken")
if elapsed > 60:
    sys.exit(f"FAIL: it took {elapsed:.0f} s to notice")
if mode == "hang" and "did not finish within 3 s" not in out:
    sys.exit("FAIL: no message naming the collective that timed out")
if mode == "die" and not any(s in out for s in ("did not finish within", "exited", "non-zero status", "aborted")):
    sys.exit("FAIL: no message saying that a rank ended")
print("OK")
