"""Batch jobs for a cluster engine: the desk's pipeline on Apache Spark (``storydesk[spark]``).

``storydesk.spark.job`` runs read -> corpus-wide dedup -> models -> stories -> facts over WARC or
JSONL inputs and writes Parquet tables (``storydesk.spark.tables``); ``storydesk.spark.load``
imports them into a desk. Importing this package does not import PySpark.
"""
