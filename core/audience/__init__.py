"""Who an action reaches: saved segments, campaigns with their control group, the effect."""
