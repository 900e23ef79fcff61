"""Shared pytest configuration: registers project pytest plugins."""

pytest_plugins = ["reconciler.testing.pvesim.fixtures", "reconciler.testing.hms.fixtures"]
