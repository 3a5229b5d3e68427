"""Runs benchmark suites and prints their tables:

    python -m benchmarks [suite ...] [--json PATH] [--plot PATH] [--threads N]

Suites: matmul, elementwise, reduce, softmax_xent, layout, conv2d, overhead, mlp_step,
epoch, layers (default: all).  --json writes every table; --plot draws each suite's ratios to the
other libraries as a bar chart (needs matplotlib: pip install pyautodiff[plot]).
"""
import argparse
import importlib
import json
import os
import sys

SUITES = {
    "matmul": ("benchmarks.bench_matmul", "main"),
    "elementwise": ("benchmarks.bench_ops", "elementwise"),
    "reduce": ("benchmarks.bench_ops", "reduce"),
    "softmax_xent": ("benchmarks.bench_ops", "softmax_xent"),
    "layout": ("benchmarks.bench_ops", "layout"),
    "conv2d": ("benchmarks.bench_conv2d", "main"),
    "overhead": ("benchmarks.bench_overhead", "main"),
    "mlp_step": ("benchmarks.bench_mlp_step", "main"),
    "epoch": ("benchmarks.bench_epoch", "main"),
    "layers": ("benchmarks.bench_layers", "main"),
}


def plot(tables, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install pyautodiff[plot]") from None
    charts = []
    for name, table in tables.items():
        ratio_cols = [i for i, h in enumerate(table["header"]) if h.startswith("vs ") or "/" in h]
        if ratio_cols:
            charts.append((name, table, ratio_cols))
    if not charts:
        return
    fig, axes = plt.subplots(len(charts), 1, figsize=(10, 3.2 * len(charts)), squeeze=False)
    for ax, (name, table, cols) in zip(axes[:, 0], charts):
        labels = [" ".join(r[:2]) if name == "matmul" else r[0] for r in table["rows"]]
        width = 0.8 / len(cols)
        for k, c in enumerate(cols):
            values = [float(r[c].rstrip("x")) for r in table["rows"]]
            ax.bar([i + k * width for i in range(len(values))], values, width, label=table["header"][c])
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_title(name)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", help=", ".join(SUITES))
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--plot", dest="plot_path")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    import pyautodiff

    if args.threads:
        pyautodiff.set_num_threads(args.threads)
    names = args.suites or list(SUITES)
    tables = {}
    for name in names:
        if name not in SUITES:
            raise SystemExit(f"unknown suite {name!r}; available: {', '.join(SUITES)}")
        module, fn = SUITES[name]
        sub_argv = ["--threads", str(args.threads)] if args.threads and name == "mlp_step" else []
        tables[name] = getattr(importlib.import_module(module), fn)(sub_argv)
    if args.json_path:
        with open(args.json_path, "w") as f:
            json.dump(tables, f, indent=1)
    if args.plot_path:
        plot(tables, args.plot_path)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
