"""pytest plugin: `pvesim` (fresh cluster, instant tasks) and `pvesim_factory(**PveSim kwargs)`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .sim import PveSim


@pytest.fixture
def pvesim() -> Iterator[PveSim]:
    """A started simulator with the default cluster and task_seconds=0."""
    with PveSim(task_seconds=0.0) as sim:
        yield sim


@pytest.fixture
def pvesim_factory() -> Iterator[Callable[..., PveSim]]:
    """Start simulators with custom kwargs; all are stopped at teardown."""
    started: list[PveSim] = []

    def make(**kwargs: Any) -> PveSim:
        sim = PveSim(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()
