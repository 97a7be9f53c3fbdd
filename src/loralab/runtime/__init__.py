"""Process-level setup that must happen before torch does work."""
