"""Measurement: fresh-process workload runs, benchmarks and their statistics, profiles, correctness, baselines."""
