"""Offline evaluation: paired statistics, experiments, comparisons and the simulated online A/B."""
