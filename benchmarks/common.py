"""Shared helpers: interleaved timing with medians, machine description, table printing."""
import os
import platform
import statistics
import time


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def timeit_interleaved(fns, rounds=7, min_time=0.05, settle=0.15):
    """Median seconds per call of each fn, measured in interleaved rounds so that drift in
    machine load hits every contender alike.

    Before each timed block the process sleeps `settle` seconds: thread pools (OpenBLAS,
    OpenMP) busy-wait for a while after a parallel call, and on 2 cores those spinning
    threads would otherwise steal the CPU from whichever contender runs next."""
    counts = {}
    for name, fn in fns.items():
        fn()
        n, t0 = 1, time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        counts[name] = max(1, int(min_time / max(dt, 1e-9)))
    samples = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n = counts[name]
            time.sleep(settle)
            fn()  # wakes this contender's own thread pool
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
    return {name: statistics.median(v) for name, v in samples.items()}


def time_against_torch(cases, **timing):
    """{case name: {"ours": s[, "torch": s]}} for `cases(lib)` -> {name: fn} built with
    pyautodiff and, when installed, PyTorch (same thread count), timed interleaved."""
    import pyautodiff

    try:
        import torch
        torch.set_num_threads(pyautodiff.get_num_threads())
    except ImportError:
        torch = None
    ours = cases(pyautodiff)
    theirs = cases(torch) if torch else {}
    return {name: timeit_interleaved({"ours": fn, **({"torch": theirs[name]} if torch else {})}, **timing)
            for name, fn in ours.items()}


def print_table(title, header, rows):
    """Prints the table and returns it as a dict (for --json)."""
    print(f"\n{title}")
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = "  ".join("{:>%d}" % w for w in widths)
    print(fmt.format(*header))
    for r in rows:
        print(fmt.format(*r))
    return {"title": title, "header": list(header), "rows": [list(map(str, r)) for r in rows]}


def numpy_blas_kernel():
    """What threadpoolctl reports for NumPy's BLAS (e.g. 'openblas SkylakeX')."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i['internal_api']} {i.get('architecture')}" for i in infos) or "none"


def limit_numpy_threads(n):
    """Caps NumPy's BLAS threads (so thread counts are equal); returns the limiter."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=n, user_api="blas")
