"""pyautodiff benchmarks: python -m benchmarks [suite ...]."""
