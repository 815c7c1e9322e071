"""Targets: the interface a target implements and the loaders for built-in, `module:Class` and `campaign.toml` targets."""
