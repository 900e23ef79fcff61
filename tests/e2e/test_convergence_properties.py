"""Property-based convergence (issue 14.7): random valid container and table specs and edit
sequences, applied through the real CLI in-process against the simulator and a SQLite catalog:
after each apply the plan is empty, and the plan JSON of the same inputs is the same bytes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import main
from reconciler.testing.pvesim import PveSim

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
NAMES = ("alpha", "bravo", "charlie", "delta")
TYPES = ("long", "int", "string", "double", "float", "boolean", "date", "timestamptz")
WIDER = {"int": "long", "float": "double"}  # the promotions Iceberg allows
MEMORY = ("512MiB", "1GiB", "1536MiB", "2GiB")
DISKS = ("4GiB", "6GiB", "8GiB", "12GiB")


@dataclass(frozen=True)
class Ct:
    name: str
    vmid: int
    cores: int
    memory: str
    disk: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class Tbl:
    name: str
    columns: tuple[Col, ...]
    props: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class World:
    cts: tuple[Ct, ...]
    tables: tuple[Tbl, ...]
    history: list[str] = field(default_factory=list, compare=False)


@st.composite
def containers(draw: st.DrawFn) -> tuple[Ct, ...]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True))
    return tuple(
        Ct(
            name,
            300 + NAMES.index(name),
            draw(st.integers(1, 4)),
            draw(st.sampled_from(MEMORY)),
            draw(st.sampled_from(DISKS[:2])),
            tuple(draw(st.lists(st.sampled_from(("lake", "blue", "green")), unique=True))),
        )
        for name in names
    )


@st.composite
def tables(draw: st.DrawFn) -> tuple[Tbl, ...]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True))
    out = []
    for name in names:
        cols = draw(
            st.lists(
                st.sampled_from(("id", "a", "b", "c", "d")), min_size=1, max_size=4, unique=True
            )
        )
        out.append(
            Tbl(
                name, tuple(Col(c, draw(st.sampled_from(TYPES)), draw(st.booleans())) for c in cols)
            )
        )
    return tuple(out)


# an edit is (kind, index, value); each is valid by construction (nothing the plan refuses)
EDITS = st.tuples(
    st.sampled_from(("cores", "memory", "grow", "tag", "add_column", "widen", "property")),
    st.integers(0, 3),
    st.integers(0, 3),
)


def edit(world: World, kind: str, index: int, value: int) -> World:
    """Apply one edit to the world (a no-op edit is allowed: the plan must still be empty)."""
    cts, tbls = list(world.cts), list(world.tables)
    ct, tbl = cts[index % len(cts)], tbls[index % len(tbls)]
    if kind == "cores":
        cts[cts.index(ct)] = replace(ct, cores=1 + value)
    elif kind == "memory":
        cts[cts.index(ct)] = replace(ct, memory=MEMORY[value])
    elif kind == "grow":
        cts[cts.index(ct)] = replace(ct, disk=DISKS[max(DISKS.index(ct.disk), value)])
    elif kind == "tag":
        tag = ("lake", "blue", "green", "red")[value]
        tags = tuple(t for t in ct.tags if t != tag) if tag in ct.tags else (*ct.tags, tag)
        cts[cts.index(ct)] = replace(ct, tags=tags)
    elif kind == "add_column":
        name = f"x{len(tbl.columns)}"
        if all(c.name != name for c in tbl.columns):
            tbls[tbls.index(tbl)] = replace(
                tbl, columns=(*tbl.columns, Col(name, TYPES[value], False))
            )
    elif kind == "widen":
        cols = list(tbl.columns)
        col = cols[value % len(cols)]
        cols[value % len(cols)] = replace(col, type=WIDER.get(col.type, col.type))
        tbls[tbls.index(tbl)] = replace(tbl, columns=tuple(cols))
    else:
        tbls[tbls.index(tbl)] = replace(tbl, props=(("commit.retry.num-retries", str(value + 2)),))
    return World(tuple(cts), tuple(tbls), [*world.history, f"{kind}({index},{value})"])


def write_specs(specs: Path, world: World) -> None:
    """The world as spec files (the tree is rewritten whole, as a git checkout would be)."""
    shutil.rmtree(specs, ignore_errors=True)
    for sub in ("containers", "tables"):
        (specs / sub).mkdir(parents=True)
    for ct in world.cts:
        spec: dict[str, Any] = {
            "vmid": ct.vmid,
            "hostname": ct.name,
            "template": TEMPLATE,
            "cores": ct.cores,
            "memory": ct.memory,
            "rootfs": {"storage": "local-lvm", "size": ct.disk},
        }
        if ct.tags:
            spec["tags"] = list(ct.tags)
        doc = {"apiVersion": "reconciler/v1", "kind": "Container", "metadata": {"name": ct.name}}
        (specs / "containers" / f"{ct.name}.yaml").write_text(yaml.safe_dump({**doc, "spec": spec}))
    for tbl in world.tables:
        tspec: dict[str, Any] = {
            "catalog": "lake",
            "namespace": "prop",
            "name": tbl.name,
            "schema": [
                {"name": c.name, "type": c.type, "required": c.required} for c in tbl.columns
            ],
        }
        if tbl.props:
            tspec["properties"] = dict(tbl.props)
        doc = {"apiVersion": "reconciler/v1", "kind": "Table", "metadata": {"name": tbl.name}}
        (specs / "tables" / f"{tbl.name}.yaml").write_text(yaml.safe_dump({**doc, "spec": tspec}))


def cli(config: Path, *args: str) -> tuple[int, str]:
    """The real CLI in-process (a subprocess per call would cost ~4 s of imports)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--config", str(config), *args])
    assert "Traceback" not in err.getvalue(), err.getvalue()
    return code, out.getvalue()


@contextlib.contextmanager
def lake(sim: PveSim) -> Iterator[Path]:
    """A fresh config, state dir and catalog for one example; the simulator back to empty."""
    sim.reset()
    root = Path(tempfile.mkdtemp(prefix="reconciler-prop-"))
    config = root / "reconciler.yaml"
    config.write_text(
        f"""specs: specs
state_dir: state
proxmox:
  host: {sim.host}
  port: {sim.port}
  user: {sim.token_user}
  token_name: {sim.token_name}
  token_secret_env: PVE_TOKEN_SECRET
  verify_ssl: {sim.ca_file}
  node: pve
"""
    )
    before = os.environ.get("PVE_TOKEN_SECRET")
    os.environ["PVE_TOKEN_SECRET"] = sim.token_secret
    try:
        yield config
    finally:
        if before is None:
            os.environ.pop("PVE_TOKEN_SECRET", None)
        else:
            os.environ["PVE_TOKEN_SECRET"] = before
        shutil.rmtree(root, ignore_errors=True)


def converge_one(sim: PveSim, world: World, edits: list[tuple[str, int, int]]) -> int:
    """Apply the world, then each edit; after every apply the plan is empty and plan JSON is
    byte-for-byte the same when asked twice. Returns the number of applies."""
    with lake(sim) as config:
        specs = config.parent / "specs"
        applies = 0
        for step in [None, *edits]:
            if step is not None:
                world = edit(world, *step)
            write_specs(specs, world)
            first = cli(config, "plan", "--output", "json")
            again = cli(config, "plan", "--output", "json")
            assert first == again, f"plan JSON differs for the same inputs after {world.history}"
            assert first[0] in (0, 2), first
            code, out = cli(config, "apply", "--yes")
            applies += 1
            assert code == 0, f"apply exited {code} after {world.history}:\n{out}"
            code, plan = cli(config, "plan", "--output", "json")
            changes = json.loads(plan)["changes"]
            assert code == 0 and changes == [], f"not converged after {world.history}: {changes}"
            cts = {int(c["vmid"]): c for c in sim.api().nodes("pve").lxc.get()}
            assert {v: c["name"] for v, c in cts.items()} == {c.vmid: c.name for c in world.cts}
            for ct in world.cts:  # the real outcome, not only the plan's word for it
                assert int(cts[ct.vmid]["cpus"]) == ct.cores, (ct, cts[ct.vmid])
        return applies


def check_convergence(sim: PveSim, max_examples: int) -> dict[str, int]:
    """Run the property with `max_examples`; returns counts (examples, applies)."""
    counts = {"examples": 0, "applies": 0}

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(containers(), tables(), st.lists(EDITS, max_size=3))
    def prop(cts: tuple[Ct, ...], tbls: tuple[Tbl, ...], edits: list[tuple[str, int, int]]) -> None:
        counts["examples"] += 1
        counts["applies"] += converge_one(sim, World(cts, tbls), edits)

    prop()
    return counts


def test_random_specs_and_edit_sequences_converge_with_deterministic_plans(pvesim: PveSim) -> None:
    counts = check_convergence(pvesim, max_examples=4)
    assert counts["examples"] >= 4 and counts["applies"] >= counts["examples"]
