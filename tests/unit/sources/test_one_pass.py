"""`reconcile validate` reports schema, semantic and cross-spec problems of a tree in one run,
and `plan` loads through the same checks (so one passes exactly when the other does)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sources_spec_files import write

from reconciler.cli import main
from reconciler.engine import load
from reconciler.sources import load_for
from reconciler.sources.config import load_settings

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"

WEB = f"""\
apiVersion: reconciler/v1
kind: Container
metadata:
  name: web
spec:
  vmid: 300
  template: {TEMPLATE}
  state: runing
  memory: 2 gigs
  netwrok: []
  network:
    - {{name: eth0, bridge: vmbr0, ip: 10.0.0.5/24, gateway: 10.0.1.1}}
  ignore: [description, memroy, "network[*].hwaddr"]
  dependsOn: [ghost]
"""
DB = f"""\
apiVersion: reconciler/v1
kind: Container
metadata:
  name: db
spec:
  vmid: 300
  hostname: db_1
  template: {TEMPLATE}
  swap: 2GB
  dependsOn: [web]
"""
EVENTS = """\
apiVersion: reconciler/v1
kind: Table
metadata:
  name: events
spec:
  catalog: warehouse
  namespace: raw
  name: events
  formatVersion: 3
  schema:
    - {name: id, type: long, required: true}
    - {name: ts, type: timestamptz}
  partitionBy:
    - {source: day, transform: day}
    - {source: id, transform: "bucket[x]"}
  policy: nightly
"""
HOT = """\
apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata:
  name: hot
spec:
  window: {schedule: "0 2 * * *", duration: soon}
  compaction:
    smallFileSize: 64MiB
    targetFileSize: 32MiB
    strategy: fast
  removeOrphanFiles: {olderThan: 1h}
"""
CONFIG = """\
specs: specs
state_dir: state
catalogs:
  lake: {type: sql, uri: "sqlite:///state/c.db"}
"""
TRANSFORMS = "identity, year, month, day, hour, void, bucket[N] or truncate[W]"
EXPECTED = [
    'specs/containers/db.yaml:7: spec.hostname: "db_1" is not a host name; '
    "use DNS labels (letters, digits, '-') separated by dots",
    'specs/containers/db.yaml:9: spec.swap: "2GB" is ambiguous (10^9 or 2^30 bytes?); '
    "sizes are binary: write 2GiB",
    "specs/containers/web.yaml:6: spec.vmid: vmid 300 is also used by container/db",
    'specs/containers/web.yaml:8: spec.state: "runing" is not one of: running, stopped',
    'specs/containers/web.yaml:9: spec.memory: "2 gigs" is not a size; '
    "use a number with a unit: 512MiB, 2GiB, ...",
    "specs/containers/web.yaml:10: spec.netwrok: unknown key; did you mean 'network'?",
    "specs/containers/web.yaml:12: spec.network[0].gateway: "
    "gateway 10.0.1.1 is outside the subnet 10.0.0.0/24",
    'specs/containers/web.yaml:13: spec.ignore[1]: "memroy" names no field (ignore takes '
    "plan paths such as memory or network[*].hwaddr, or a prefix such as network); "
    'did you mean "memory"?',
    "specs/containers/web.yaml:14: spec.dependsOn[0]: "
    "unknown dependency 'container/ghost': no such spec",
    'specs/policies/hot.yaml:6: spec.window.duration: "soon" is not a duration; '
    "use a whole number with s, m, h, d or w: 30s, 10m, 4h, 7d, 1w",
    "specs/policies/hot.yaml:8: spec.compaction.smallFileSize: "
    "smallFileSize must not exceed targetFileSize",
    'specs/policies/hot.yaml:10: spec.compaction.strategy: "fast" is not one of: binpack, sort',
    "specs/policies/hot.yaml:11: spec.removeOrphanFiles.olderThan: must be at least 1d: "
    "younger files may belong to a write still in progress, deleting them corrupts the "
    "table (Iceberg refuses it too)",
    'specs/tables/events.yaml:6: spec.catalog: catalog "warehouse" is not defined in '
    "{config} (catalogs: lake)",
    "specs/tables/events.yaml:9: spec.formatVersion: 3 is not one of: 1, 2",
    "specs/tables/events.yaml:14: spec.partitionBy[0].source: no column 'day' in spec.schema",
    'specs/tables/events.yaml:15: spec.partitionBy[1].transform: "bucket[x]" is not a '
    f"transform; use {TRANSFORMS}",
    "specs/tables/events.yaml:16: spec.policy: maintenance policy 'nightly' is not defined",
]


def _tree(tmp_path: Path) -> Path:
    write(tmp_path, "specs/containers/web.yaml", WEB)
    write(tmp_path, "specs/containers/db.yaml", DB)
    write(tmp_path, "specs/tables/events.yaml", EVENTS)
    write(tmp_path, "specs/policies/hot.yaml", HOT)
    return Path(write(tmp_path, "reconciler.yaml", CONFIG))


def _lines(text: str, tmp_path: Path) -> list[str]:
    return [line.replace(f"{tmp_path}/", "") for line in text.splitlines()]


def test_every_problem_of_the_tree_in_the_first_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _tree(tmp_path)
    code = main(["--config", str(config), "validate"])
    err = capsys.readouterr().err
    expected = [line.replace("{config}", "reconciler.yaml") for line in EXPECTED]
    assert _lines(err, tmp_path) == [*expected, f"{len(expected)} problems in specs"]
    assert code == 1


def test_plan_loads_through_the_same_checks(tmp_path: Path) -> None:
    config = _tree(tmp_path)
    settings = load_settings(config)
    desired, error = load(settings.specs, settings)
    assert desired is None and error is not None
    expected = [line.replace("{config}", "reconciler.yaml") for line in EXPECTED]
    assert _lines(error, tmp_path) == ["invalid specs:", *expected]


def test_a_table_of_a_configured_catalog_passes(tmp_path: Path) -> None:
    config = _tree(tmp_path)
    shutil.rmtree(tmp_path / "specs")
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    result = load_for(load_settings(config))
    assert result.errors == () and result.desired is not None
    config.write_text(CONFIG.replace("lake:", "other:"))
    messages = [e.message for e in load_for(load_settings(config)).errors]
    assert len(messages) == 3  # the three shipped tables
    assert set(messages) == {
        f'catalog "lake" is not defined in {config} (catalogs: other)',
    }


def test_config_and_spec_problems_are_reported_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _tree(tmp_path)
    config.write_text(CONFIG + "apply: {parallelism: 0}\n")
    code = main(["--config", str(config), "validate", str(tmp_path / "specs")])
    lines = _lines(capsys.readouterr().err, tmp_path)
    assert code == 1
    assert lines[0] == "reconciler.yaml:5: apply.parallelism: 0 is less than the minimum of 1"
    # without a usable config the catalogs are not checked; everything else still is
    assert len(lines) == 1 + len(EXPECTED) - 1 + 1
    assert not any("spec.catalog" in line for line in lines)


def test_the_shipped_specs_stay_valid(capsys: pytest.CaptureFixture[str]) -> None:
    # DIR given: the example config's source.git (a Gitea host) is not fetched
    code = main(
        ["--config", str(ROOT / "reconciler.example.yaml"), "validate", str(ROOT / "specs")]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.endswith(": valid (7 containers, 3 tables, 2 policies)\n")


@pytest.mark.parametrize(
    ("entry", "valid"),
    [
        ("description", True),
        ("network", True),
        ("network[*].hwaddr", True),
        ("network[3].ip", True),
        ("mountpoints[0]", True),
        ("features", True),
        ("state", True),
        ("node", True),
        ("tags", True),
        ("netwrok", False),
        ("network[x]", False),
        ("network[*].colour", False),
        ("memory.size", False),
    ],
)
def test_ignore_entries_must_name_a_plan_path(entry: str, valid: bool) -> None:
    from reconciler.sources.ignore_paths import ignore_problem

    assert (ignore_problem(entry) is None) == valid


def _documented_plan_paths() -> list[str]:
    """The `plan path` column of docs/specs.md's Container field table."""
    text = (ROOT / "docs" / "specs.md").read_text(encoding="utf-8")
    table = text.split("| field | type / range | default | plan path | change |", 1)[1]
    paths = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cell = line.replace("\\|", "/").strip("|").split("|")[3]
        if "`" in cell:
            paths.append(cell.split("`")[1])
    return paths


def test_the_documented_plan_paths_are_valid_ignore_entries() -> None:
    from reconciler.sources.ignore_paths import ignore_problem

    paths = _documented_plan_paths()
    assert len(paths) >= 20
    # vmid names the CT itself (another vmid is another CT): there is nothing to ignore
    checked = [p.replace("<id>", "0") for p in paths if p != "vmid" and "<key>" not in p]
    checked = [p.replace("<name>", "keyctl") for p in checked]
    assert [p for p in checked if ignore_problem(p) is not None] == []
    assert ignore_problem("vmid") is not None
