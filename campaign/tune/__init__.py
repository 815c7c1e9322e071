"""Tuning the knobs an optimization leaves behind.

``core`` runs one tune (the entry point: ``tune``, ``tune_for_iteration``);
``space`` parses and checks the knobs; ``presets`` says how much each
configuration costs; ``measurement`` measures one configuration against the
default; ``runner`` runs configurations one at a time or concurrently;
``strategies`` picks which (grid, quick, smart with Optuna, whose storage and
pruner are in ``study``); ``hint`` asks ``parallel_model`` for a prediction;
``report`` writes the recommendation; ``store`` caches results and
``history`` lists saved tunes.
"""
