"""deploybot's benchmarks: `python bench/run.py [--quick] [--json FILE]` (see bench/run.py)."""
