"""bridge layer."""
