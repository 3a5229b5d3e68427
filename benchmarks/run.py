"""Runs benchmark suites: python -m benchmarks [suite ...] (default: all available)."""
import importlib
import os
import sys

SUITES = {"matmul": "benchmarks.bench_matmul", "mlp_step": "benchmarks.bench_mlp_step",
          "overhead": "benchmarks.bench_overhead"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    names = [a for a in argv if not a.startswith("-")] or list(SUITES)
    for name in names:
        if name not in SUITES:
            raise SystemExit(f"unknown suite {name!r}; available: {', '.join(SUITES)}")
        try:
            module = importlib.import_module(SUITES[name])
        except ModuleNotFoundError as e:
            print(f"skipping {name}: {e}")
            continue
        module.main([])


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
