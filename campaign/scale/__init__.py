"""Scaling out: many attempts at once on one machine, and whole attempts on other machines.

``host`` says which machine measured a number; ``queue`` keeps one
measurement at a time per host; ``cluster`` sends whole attempts (TEST and
BENCHMARK, both arms on one host) and a tune's trials to Dask distributed workers.
"""
