"""`python -m reconciler.testing.hms`: start MariaDB and a Hive Metastore, print the URI."""

from reconciler.testing.hms.cli import main

raise SystemExit(main())
