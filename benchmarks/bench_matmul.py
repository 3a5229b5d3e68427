"""Matrix multiply: pyautodiff.matmul and the raw pa_gemm against NumPy, float32 and
float64, squares 64..2048 and the 784-128-10 MLP's shapes at batch 64 and 1024, at 1 and
2 threads; interleaved rounds, medians, GFLOP/s.

NumPy's OpenBLAS may be held to its AVX2 (Haswell) kernel by OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE in the environment.  NumPy is also timed in a subprocess with the other
setting: with both unset when the environment sets them (its best kernel), or with
OPENBLAS_CORETYPE=Haswell when it does not, so the table always shows both kernels.

    python benchmarks/bench_matmul.py [--quick] [--threads 1 2] [--dtypes float32 float64]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import machine, print_table, timeit_interleaved  # noqa: E402

OPENBLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def cases(quick):
    """(label, m, k, n, trans_a): C (m x n) = op(A) (m x k) @ B (k x n)."""
    squares = (64, 128, 256, 512, 1024) if quick else (64, 128, 256, 512, 1024, 2048)
    out = [(f"{s}", s, s, s, 0) for s in squares]
    for batch in (64, 1024):
        out += [(f"{batch}x784x128 X@W", batch, 784, 128, 0),
                (f"784x{batch}x128 X^T@G", 784, batch, 128, 1),
                (f"{batch}x128x784 G@W", batch, 128, 784, 0),
                (f"{batch}x128x10 H@W", batch, 128, 10, 0)]
    return out


def operands(m, k, n, trans_a, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    return a, b


def numpy_fn(a, b, trans_a):
    if trans_a:
        return lambda: a.T @ b
    return lambda: a @ b


def numpy_kernel():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i['internal_api']} {i.get('architecture')}" for i in infos) or "none"


def blas_threads(n):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=n, user_api="blas")


def time_numpy_only(args):
    """Subprocess mode: NumPy alone, printed as JSON {key: seconds}."""
    out = {"kernel": numpy_kernel(), "times": {}}
    for dtype in args.dtypes:
        for label, m, k, n, ta in cases(args.quick):
            a, b = operands(m, k, n, ta, dtype)
            for threads in args.threads:
                limiter = blas_threads(threads)
                t = timeit_interleaved({"numpy": numpy_fn(a, b, ta)}, rounds=args.rounds)
                if limiter is not None:
                    limiter.restore_original_limits()
                out["times"][f"{dtype}|{label}|{threads}"] = t["numpy"]
    print(json.dumps(out))


def time_numpy_other(args):
    """NumPy timed in a subprocess with the OpenBLAS pins flipped (see the docstring)."""
    pinned = any(k in os.environ for k in OPENBLAS_PINS)
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_PINS}
    if not pinned:
        env["OPENBLAS_CORETYPE"] = "Haswell"
    cmd = [sys.executable, os.path.abspath(__file__), "--numpy-only", "--rounds",
           str(args.rounds), "--threads", *map(str, args.threads), "--dtypes", *args.dtypes]
    if args.quick:
        cmd.append("--quick")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="squares up to 1024 only")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"],
                        choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-numpy-other", dest="numpy_other", action="store_false",
                        help="skip timing NumPy with the other OpenBLAS kernel setting")
    parser.add_argument("--numpy-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.numpy_only:
        time_numpy_only(args)
        return
    pinned = any(k in os.environ for k in OPENBLAS_PINS)

    import pyautodiff
    from pyautodiff._ffi import ffi, lib

    best_numpy = time_numpy_other(args) if args.numpy_other else None
    saved_threads = pyautodiff.get_num_threads()
    rows = []
    for dtype in args.dtypes:
        code = {"float32": 0, "float64": 1}[dtype]
        for label, m, k, n, ta in cases(args.quick):
            a, b = operands(m, k, n, ta, dtype)
            c = np.empty((m, n), dtype=dtype)
            ta_t, b_t = pyautodiff.from_numpy(a), pyautodiff.from_numpy(b)
            lhs = ta_t.t() if ta else ta_t
            pa, pb, pc = ffi.from_buffer(a), ffi.from_buffer(b), ffi.from_buffer(c)
            lda = a.shape[1]

            def raw():
                lib.pa_gemm(code, ta, 0, m, n, k, 1.0, pa, lda, a.size, pb, n, b.size, 0.0,
                            pc, n, c.size)

            for threads in args.threads:
                pyautodiff.set_num_threads(threads)
                limiter = blas_threads(threads)
                t = timeit_interleaved({"matmul": lambda: pyautodiff.matmul(lhs, b_t),
                                        "pa_gemm": raw, "numpy": numpy_fn(a, b, ta)},
                                       rounds=args.rounds)
                if limiter is not None:
                    limiter.restore_original_limits()
                gflops = {name: 2 * m * n * k / s / 1e9 for name, s in t.items()}
                row = [dtype, label, threads, f"{gflops['matmul']:.1f}", f"{gflops['pa_gemm']:.1f}",
                       f"{gflops['numpy']:.1f}", f"{t['numpy'] / t['matmul']:.2f}"]
                if best_numpy:
                    s = best_numpy["times"][f"{dtype}|{label}|{threads}"]
                    row += [f"{2 * m * n * k / s / 1e9:.1f}", f"{s / t['matmul']:.2f}"]
                rows.append(row)
    pyautodiff.set_num_threads(saved_threads)

    isa = {0: "generic", 1: "avx2", 2: "avx512"}.get(lib.pa_get_gemm_isa(), "?")
    header = ["dtype", "M x K x N", "thr", "matmul GF/s", "pa_gemm GF/s", "numpy GF/s",
              "matmul/numpy"]
    title = (f"matmul — {machine()}\npyautodiff GEMM ISA: {isa}; "
             f"numpy: {numpy_kernel()}")
    if best_numpy:
        other = "unpinned" if pinned else "Haswell"
        header += [f"numpy-{other} GF/s", f"matmul/{other}"]
        title += (f"; numpy-{other} (OPENBLAS pins {'unset' if pinned else 'CORETYPE=Haswell'}): "
                  f"{best_numpy['kernel']}")
    return print_table(title, header, rows)


if __name__ == "__main__":
    main()
