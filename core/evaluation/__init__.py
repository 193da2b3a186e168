"""Offline evaluation: top-k metrics, paired comparisons and experiments over recommenders."""
