"""Converters from the official dataset downloads to the weak-label layout (used by tools/dataset_converters)."""
