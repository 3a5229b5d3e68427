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


def timeit_interleaved(fns, rounds=7, min_time=0.05):
    """Median seconds per call of each fn, measured in interleaved rounds so that drift in
    machine load hits every contender alike."""
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
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
    return {name: statistics.median(v) for name, v in samples.items()}


def print_table(title, header, rows):
    print(f"\n{title}")
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = "  ".join("{:>%d}" % w for w in widths)
    print(fmt.format(*header))
    for r in rows:
        print(fmt.format(*r))
