"""Run in a subprocess: Spark 4 on an Iceberg `type=hive` catalog; argv: uri jars sql..."""

from __future__ import annotations

import json
import sys

from pyspark.sql import SparkSession


def main() -> None:
    uri, jars, *statements = sys.argv[1:]
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.jars", jars)
        .config(
            "spark.sql.extensions",
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        )
        .config("spark.sql.catalog.lake", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.lake.type", "hive")
        .config("spark.sql.catalog.lake.uri", uri)
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    results = [[list(r) for r in spark.sql(s).collect()] for s in statements]
    print("RESULT " + json.dumps(results, default=str))
    spark.stop()


if __name__ == "__main__":
    main()
