"""The data layer: workspace, ingest, cleaning, profiling, interactions and splits."""
