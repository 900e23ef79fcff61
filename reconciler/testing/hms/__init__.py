"""A real Hive Metastore (HMS 2.3 from pyspark's jars) on MariaDB, for tests and users."""

from reconciler.testing.hms.server import Metastore, MetastoreError, start_metastore

__all__ = ["Metastore", "MetastoreError", "start_metastore"]
