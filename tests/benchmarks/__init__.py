"""Side-by-side benchmarks against ../shared/baselines: `python -m tests.benchmarks build|import|serve`.

Not collected by pytest (no test_*.py here); tests/test_benchmarks_smoke.py runs a `--smoke` pass of it.
"""
