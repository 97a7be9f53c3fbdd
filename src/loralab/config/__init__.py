"""Typed configuration: the schema registered in Hydra's ConfigStore and its validation."""
