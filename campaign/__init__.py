"""campaign: disciplined, replayable performance-optimization campaigns.

The loop is PROFILE -> THINK -> PLAN -> IMPLEMENT -> TEST -> BENCHMARK -> LOG
-> COMMIT -> DECIDE. Keep this module free of heavy imports: the CLI's
start-up path goes through it.
"""

__version__ = "0.1.0"
