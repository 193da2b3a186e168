"""The optional Apache Spark engine: ingest and cleaning on Spark DataFrames, ALS on MLlib,
top-k lists and ranking metrics per partition.

PySpark (``requirements-spark.txt``) and a Java 17 runtime are needed only when a Spark function
runs: every module imports pyspark inside its functions, so ShopSynth imports without it and a
missing engine is a :class:`core.errors.SparkEngineError` that says how to install it.
"""
