"""Tuning the knobs an optimization leaves behind: strategies, measurement of a configuration, the store."""
