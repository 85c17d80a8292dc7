#!/usr/bin/env python3
"""lumen as another C++ project sees it: `meson install` into a temporary DESTDIR, then
  - every public header of the source tree is installed (and compiles with lumen.pc's flags alone),
  - tests/install/consumer.cpp builds with plain `c++ consumer.cpp $(pkg-config --cflags --libs lumen)`
    against liblumen.so and runs (trains a tiny MLP, explains it with IG),
  - the same program links statically (liblumen.a + `pkg-config --static`'s private libraries) and runs.
usage: check_install.py BUILD_DIR SOURCE_DIR"""
import os
import shutil
import subprocess
import sys
import tempfile

# Folders whose headers are the public API, and the headers in them that are internal (see meson.build).
PUBLIC = ["autograd", "kernels", "kernels/core", "nn", "xai", "gan", "dist", "figures"]
INTERNAL = {"dist/backends.h"}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"check_install: {' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def pkg_config(pc_dir, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=pc_dir)
    return run(["pkg-config", *args, "lumen"], env=env).split()


def main():
    build, source = sys.argv[1], sys.argv[2]
    for tool in ("c++", "pkg-config", "meson"):
        if not shutil.which(tool):
            print(f"check_install: SKIP, {tool} not found")
            sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="lumen-install-") as dest:
        run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild", "--quiet"])
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs if f == "lumen.pc"]
        if len(pcs) != 1:
            sys.exit(f"check_install: expected one lumen.pc under {dest}, found {pcs}")
        pc_dir = os.path.dirname(pcs[0])
        print("lumen.pc:\n" + open(pcs[0]).read())

        # The headers: exactly the public ones, under include/lumen/<folder>/.
        includes = [f[2:] for f in pkg_config(pc_dir, "--cflags-only-I") if f.endswith("/include/lumen")]
        if len(includes) != 1:
            sys.exit("check_install: lumen.pc's Cflags do not name an include/lumen folder")
        inc = os.path.normpath(includes[0])
        want = sorted(f"{d}/{f}" for d in PUBLIC for f in os.listdir(os.path.join(source, d))
                      if f.endswith(".h") and f"{d}/{f}" not in INTERNAL)
        have = sorted(os.path.relpath(os.path.join(d, f), inc) for d, _, fs in os.walk(inc) for f in fs)
        if want != have:
            sys.exit(f"check_install: installed headers differ from the source tree's public ones:\n"
                     f"  not installed: {sorted(set(want) - set(have))}\n  unexpected: {sorted(set(have) - set(want))}")
        cflags = pkg_config(pc_dir, "--cflags")
        every_header = "".join(f'#include "{h}"\n' for h in have)
        run(["c++", "-fsyntax-only", "-x", "c++", "-", *cflags], input=every_header)
        print(f"{len(have)} headers installed; all of them compile with lumen.pc's Cflags alone")

        consumer = os.path.join(source, "tests", "install", "consumer.cpp")
        libdir = [f[2:] for f in pkg_config(pc_dir, "--libs-only-L")][0]
        # Shared: the plain command a user types.
        exe = os.path.join(dest, "consumer")
        run(["c++", consumer, "-o", exe, *pkg_config(pc_dir, "--cflags", "--libs")])
        if "liblumen.so" not in run(["readelf", "-d", exe]):
            sys.exit("check_install: the consumer did not link liblumen.so")
        print("shared:", run([exe], env=dict(os.environ, LD_LIBRARY_PATH=libdir)).strip())
        # Static: liblumen.a, then what it needs (lumen.pc's private requirements and libraries).
        exe_static = os.path.join(dest, "consumer_static")
        libs = [f for f in pkg_config(pc_dir, "--static", "--libs") if f != "-llumen"]
        run(["c++", consumer, "-o", exe_static, *cflags, os.path.join(libdir, "liblumen.a"), *libs])
        if "liblumen.so" in run(["readelf", "-d", exe_static]):
            sys.exit("check_install: the static consumer still needs liblumen.so")
        print("static:", run([exe_static]).strip())


if __name__ == "__main__":
    main()
