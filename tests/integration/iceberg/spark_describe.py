"""Run by the Spark test in a subprocess: describe one Iceberg table through Spark as JSON."""

from __future__ import annotations

import json
import sys

from pyspark.sql import SparkSession


def main(db: str, warehouse: str, table: str, jars: str) -> None:
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.jars", jars)
        .config(
            "spark.sql.extensions",
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        )
        .config("spark.sql.catalog.lake", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.lake.type", "jdbc")
        .config("spark.sql.catalog.lake.uri", f"jdbc:sqlite:{db}")
        .config("spark.sql.catalog.lake.warehouse", warehouse)
        .config("spark.sql.catalog.lake.jdbc.init-catalog-tables", "false")
        .config("spark.sql.catalog.lake.cache-enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "512m")
        .getOrCreate()
    )
    try:
        df = spark.table(f"lake.{table}")
        rows = spark.sql(f"DESCRIBE TABLE lake.{table}").collect()
        parts = [r.data_type for r in rows if r.col_name.startswith("Part ")]
        out = {
            "columns": [[f.name, f.dataType.simpleString(), f.nullable] for f in df.schema.fields],
            "partitioning": parts,
            "count": df.count(),
        }
        print("RESULT " + json.dumps(out))
    finally:
        spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:5])
