"""Tuning the knobs an optimization leaves behind.

``core`` runs one tune (the entry point: ``tune``, ``tune_for_iteration``);
``space`` parses and checks the knobs; ``presets`` says how much each
configuration costs; ``measurement`` measures one configuration against the
default; ``runner`` runs configurations one at a time or concurrently;
``strategies`` picks which (grid, quick, smart with Optuna, whose storage and
pruner are in ``study``); ``hint`` asks ``parallel_model`` for a prediction;
``report`` writes the recommendation; ``store`` caches results (SQLite by
default, or one PostgreSQL server shared by many workers) and ``history``
lists saved tunes; ``progress`` plans the runs and estimates the ETA for the
live line; ``errors`` holds the user errors.
"""
