"""Execution engines other than the single-machine DuckDB/numpy path (Apache Spark)."""
