"""Which tables share the run's Spark application: maintenance alone shares it; a table with
an earlier line of its own (retention, a schema change) shares it gated; a backup line holds
nothing up; a table waiting for another resource of the plan runs alone, one waiting for a
resource with no line in this plan does not."""

from __future__ import annotations

from reconciler.plan.change import Action, Change
from reconciler.plan.maintenance_ops import CallProcedure, fold
from reconciler.providers.spark.sharing import shared_tables


def _maintain(address: str, depends_on: tuple[str, ...] = ()) -> Change:
    call = Change(
        address,
        Action.REWRITE_MANIFESTS,
        "display only",
        depends_on=depends_on,
        operations=(CallProcedure("rewrite_manifests"),),
    )
    (line,) = fold((call,))
    return line


def test_which_tables_share_and_which_wait() -> None:
    plan = (
        Change("container/hive", Action.CREATE, "new"),
        _maintain("table/lake.a"),
        Change("table/lake.b", Action.DELETE_EXPIRED_ROWS, "40 rows"),
        _maintain("table/lake.b"),
        Change("table/lake.c", Action.UPDATE, "add column", depends_on=("container/hive",)),
        _maintain("table/lake.c"),
        _maintain("table/lake.d", depends_on=("container/gone",)),  # no line in this plan
        _maintain("table/lake.e"),
        Change("table/lake.e", Action.BACKUP, "daily"),
    )
    sharing = shared_tables(plan)
    assert list(sharing.tables) == ["table/lake.a", "table/lake.b", "table/lake.d", "table/lake.e"]
    assert sharing.gated == {"table/lake.b"}
    assert [c.action for c in sharing.tables["table/lake.b"]] == [Action.REWRITE_MANIFESTS]
