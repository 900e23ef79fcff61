"""plan_adoption: which requested resources become ours, with which preconditions; pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from reconciler.diff.adopt import (
    UnknownAddress,
    adoption_notes,
    plan_adoption,
    unknown_targets,
)
from reconciler.model.containers import (
    OWNER_TAG,
    ContainerSettings,
    ContainerSpec,
    GuestSummary,
    ObservedContainer,
    PowerState,
)
from reconciler.model.desired import Desired
from reconciler.model.tables import (
    MANAGED_BY_PROPERTY,
    MANAGED_BY_VALUE,
    ColumnSpec,
    ObservedTable,
    PrimitiveType,
    TableInventory,
    TableSpec,
)
from reconciler.plan.change import Action, Change, FieldChange, is_adoption
from reconciler.plan.container_ops import AddTags
from reconciler.plan.table_ops import OpKind, TableOp

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
MINIO = ContainerSpec(
    "minio",
    107,
    "pve",
    TEMPLATE,
    ContainerSettings("minio", memory_mib=2048),
    depends_on=("container/dns",),
)
ORDERS = TableSpec("lake", ("sales",), "orders", (ColumnSpec("id", PrimitiveType("long")),))
DESIRED = Desired(containers=(MINIO,), tables=(ORDERS,))


@dataclass(frozen=True)
class Inventory:
    guests: tuple[GuestSummary, ...] = ()
    observed: Mapping[int, ObservedContainer] = field(default_factory=dict)


def _ct(
    tags: tuple[str, ...] = ("prod", "team-a"),
    kind: str = "lxc",
    lock: str | None = None,
    template: bool = False,
    read: bool = True,
) -> Inventory:
    guest = GuestSummary(107, "pve", kind, "handmade", "running", tags, lock)
    if kind != "lxc" or not read:
        return Inventory((guest,))
    seen = ObservedContainer(
        107,
        "pve",
        PowerState.RUNNING,
        ContainerSettings("handmade", memory_mib=1024, tags=tags),
        digest="d1g3st",
        lock=lock,
        template=template,
    )
    return Inventory((guest,), {107: seen})


def _table(properties: tuple[tuple[str, str], ...] = (("owner", "team-a"),)) -> TableInventory:
    table = ObservedTable(
        "lake",
        ("sales",),
        "orders",
        ORDERS.fields,
        schema_id=3,
        spec_id=1,
        sort_order_id=2,
        properties=properties,
    )
    return TableInventory(namespaces=(("lake", ("sales",)),), tables=(table,))


def _one(
    targets: tuple[str, ...], ct: Inventory | None = None, tables: TableInventory | None = None
) -> Change:
    (change,) = plan_adoption(targets, DESIRED, ct, tables)
    return change


def test_an_unowned_ct_gets_only_the_ownership_tag_with_the_digest_precondition() -> None:
    change = _one(("container/minio",), _ct())
    assert change == Change(
        "container/minio",
        Action.UPDATE,
        "adopt: mark CT 107 as managed by the reconciler; nothing else changes",
        fields=(FieldChange("tags", ["prod", "team-a"], ["prod", "team-a", OWNER_TAG]),),
        preconditions=(("digest", "d1g3st"), ("vmid", 107), ("node", "pve")),
        options=(("adopt", True),),
        operations=(AddTags((OWNER_TAG,), ("prod", "team-a")),),
    )  # no depends_on: marking a CT needs nothing else to exist
    assert is_adoption(change) and change.action.executes


def test_a_ct_without_tags_gets_just_ours() -> None:
    change = _one(("container/minio",), _ct(tags=()))
    assert change.fields == (FieldChange("tags", [], [OWNER_TAG]),)


@pytest.mark.parametrize(
    ("inventory", "action", "words"),
    [
        (Inventory(), Action.REFUSE, "nothing to adopt: CT 107 does not exist; `apply` creates it"),
        (_ct(kind="qemu"), Action.REFUSE, "not a container"),
        (_ct(read=False), Action.REFUSE, "config was not read"),
        (_ct(template=True), Action.REFUSE, "is a template"),
        (_ct(lock="backup"), Action.DEFERRED, "locked (backup)"),
        (None, Action.REFUSE, "not observed"),
    ],
)
def test_what_cannot_be_adopted_is_reported_never_executed(
    inventory: Inventory | None, action: Action, words: str
) -> None:
    change = _one(("container/minio",), inventory)
    assert change.action is action and words in change.reason
    assert not change.action.executes and not change.fields


def test_an_owned_ct_gives_no_line_but_a_note() -> None:
    owned = _ct(tags=(OWNER_TAG, "prod"))
    assert plan_adoption(("container/minio",), DESIRED, owned, None) == ()
    ((address, reason),) = adoption_notes(("container/minio",), DESIRED, owned, None)
    assert address == "container/minio" and "already carries" in reason


def test_an_unowned_table_gets_only_the_property_with_its_metadata_preconditions() -> None:
    change = _one(("table/lake.sales.orders",), tables=_table())
    assert change.action is Action.UPDATE and is_adoption(change)
    assert change.fields == (
        FieldChange(f"properties.{MANAGED_BY_PROPERTY}", None, MANAGED_BY_VALUE),
    )
    assert change.preconditions == (
        ("schema_id", 3),
        ("spec_id", 1),
        ("sort_order_id", 2),
        (MANAGED_BY_PROPERTY, None),
    )
    # The instruction: set the marker and nothing else.
    assert change.operations == (
        TableOp(OpKind.SET_PROPERTY, path=(MANAGED_BY_PROPERTY,), value=MANAGED_BY_VALUE),
    )
    assert "mark table lake.sales.orders as managed" in change.reason


def test_a_table_marked_by_someone_else_shows_the_value_it_replaces() -> None:
    change = _one(("table/lake.sales.orders",), tables=_table(((MANAGED_BY_PROPERTY, "airflow"),)))
    assert change.fields[0].before == "airflow"
    assert change.precondition(MANAGED_BY_PROPERTY) == "airflow"


@pytest.mark.parametrize(
    ("inventory", "words"),
    [
        (TableInventory(), "table lake.sales.orders does not exist; `apply` creates it"),
        (TableInventory(errors=(("lake", "connection refused"),)), "connection refused"),
        (None, "no catalog"),
    ],
)
def test_a_table_that_cannot_be_adopted_is_refused(
    inventory: TableInventory | None, words: str
) -> None:
    change = _one(("table/lake.sales.orders",), tables=inventory)
    assert change.action is Action.REFUSE and words in change.reason


def test_an_owned_table_gives_a_note() -> None:
    owned = _table(((MANAGED_BY_PROPERTY, MANAGED_BY_VALUE),))
    assert plan_adoption(("table/lake.sales.orders",), DESIRED, None, owned) == ()
    assert (
        adoption_notes(("table/lake.sales.orders",), DESIRED, None, owned)[0][0]
        == "table/lake.sales.orders"
    )


def test_an_address_no_spec_names_is_an_error_and_nothing_is_planned() -> None:
    targets = ("container/minio", "container/nope", "lake.sales.orders", "container/nope")
    assert unknown_targets(targets, DESIRED) == ("container/nope", "lake.sales.orders")
    with pytest.raises(UnknownAddress, match="container/nope"):
        plan_adoption(targets, DESIRED, _ct(), _table())


def test_several_targets_one_line_each_and_repeats_count_once() -> None:
    targets = ("table/lake.sales.orders", "container/minio", "container/minio")
    changes = plan_adoption(targets, DESIRED, _ct(), _table())
    assert [c.address for c in changes] == ["table/lake.sales.orders", "container/minio"]
    assert plan_adoption(targets, DESIRED, _ct(), _table()) == changes  # deterministic


def test_an_ordinary_update_is_not_an_adoption() -> None:
    plain = Change(
        "container/minio", Action.UPDATE, "memory differs", (FieldChange("memory", 1, 2),)
    )
    assert not is_adoption(plain)
    assert not is_adoption(
        Change("container/minio", Action.REFUSE, "x", options=(("adopt", True),))
    )
