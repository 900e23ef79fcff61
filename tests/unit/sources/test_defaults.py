"""Defaults documents: merged under the specs that name them; every error at its origin line."""

from __future__ import annotations

from pathlib import Path

from sources_spec_files import write

from reconciler.model.units import GIB
from reconciler.sources import load_desired
from reconciler.sources.documents import parse_documents
from reconciler.sources.validate import check_documents

# Line numbers matter: tests assert them.
LXC = """\
apiVersion: reconciler/v1
kind: Defaults
metadata:
  name: lxc
spec:
  container:
    template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    swap: 256MiB
    rootfs: {storage: local-lvm, size: 8GiB}
    dns: {domain: lake.local, servers: [10.0.0.1, 10.0.0.2]}
    tags: [lake]
"""
BIG = """\
apiVersion: reconciler/v1
kind: Defaults
metadata:
  name: big
spec:
  container:
    memory: 4GiB
    swap: 1GiB
    rootfs: {size: 40GiB}
"""
WEB = """\
apiVersion: reconciler/v1
kind: Container
metadata:
  name: web
spec:
  defaults: DEFAULTS
  vmid: 300
  memory: 1GiB
  dns: {servers: [10.0.0.9]}
"""


def _web(defaults: str = "[lxc]", extra: str = "") -> str:
    return WEB.replace("DEFAULTS", defaults) + extra


def _load(tmp_path: Path, files: dict[str, str]) -> tuple[list[str], dict[str, object]]:
    for relative, text in files.items():
        write(tmp_path, relative, text)
    result = load_desired(tmp_path)
    root = f"{tmp_path}/"
    errors = [str(e).replace(root, "") for e in result.errors]
    containers = {c.name: c for c in result.desired.containers} if result.desired else {}
    return errors, dict(containers)


def test_maps_merge_deeply_lists_are_replaced_and_the_spec_wins(tmp_path: Path) -> None:
    errors, built = _load(tmp_path, {"defaults/lxc.yaml": LXC, "containers/web.yaml": _web()})
    assert errors == []
    settings = built["web"].settings  # type: ignore[attr-defined]
    assert built["web"].template.startswith("local:vztmpl/debian-12")  # type: ignore[attr-defined]
    assert settings.memory_mib == 1024  # the spec's own value
    assert settings.swap_mib == 256  # from the defaults
    assert settings.searchdomain == "lake.local"  # dns merged: domain from the defaults ...
    assert settings.nameservers == ("10.0.0.9",)  # ... servers, a list, replaced by the spec's


def test_later_defaults_win_over_earlier_ones(tmp_path: Path) -> None:
    files = {
        "defaults/lxc.yaml": LXC,
        "defaults/big.yaml": BIG,
        "containers/web.yaml": _web("[lxc, big]").replace("  memory: 1GiB\n", ""),
        "containers/db.yaml": _web("[big, lxc]").replace("web", "db").replace("300", "301"),
    }
    errors, built = _load(tmp_path, files)
    assert errors == []
    web = built["web"].settings  # type: ignore[attr-defined]
    assert (web.memory_mib, web.swap_mib) == (4096, 1024)
    assert web.rootfs.size_bytes == 40 * GIB and web.rootfs.storage == "local-lvm"
    db = built["db"].settings  # type: ignore[attr-defined]
    assert (db.memory_mib, db.swap_mib) == (1024, 256)
    assert db.rootfs.size_bytes == 8 * GIB


def test_a_bad_value_in_defaults_points_at_the_defaults_line_once(tmp_path: Path) -> None:
    files = {
        "defaults/lxc.yaml": LXC.replace("swap: 256MiB", "swap: 2GB"),
        "containers/web.yaml": _web(),
        "containers/db.yaml": _web().replace("web", "db").replace("300", "301"),
    }
    errors, _ = _load(tmp_path, files)
    assert errors == [
        'defaults/lxc.yaml:8: spec.container.swap: "2GB" is ambiguous (10^9 or 2^30 bytes?); '
        "sizes are binary: write 2GiB"
    ]


def test_a_bad_value_in_the_spec_points_at_the_spec(tmp_path: Path) -> None:
    files = {"defaults/lxc.yaml": LXC, "containers/web.yaml": _web().replace("1GiB", "1 gig")}
    errors, _ = _load(tmp_path, files)
    assert len(errors) == 1 and errors[0].startswith("containers/web.yaml:8: spec.memory: ")


def test_a_rule_of_the_builder_is_located_at_the_defaults_value(tmp_path: Path) -> None:
    """Not only schema errors: a builder's own rule on a value the defaults gave."""
    lxc = LXC + "    restart: window\n"
    errors, _ = _load(tmp_path, {"defaults/lxc.yaml": lxc, "containers/web.yaml": _web()})
    assert errors == ["defaults/lxc.yaml:12: spec.container.restart: restart: window needs a "
                      "restartWindow"]  # fmt: skip


def test_a_missing_required_key_is_the_specs_problem(tmp_path: Path) -> None:
    lxc = LXC.replace("    template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst\n", "")
    errors, _ = _load(tmp_path, {"defaults/lxc.yaml": lxc, "containers/web.yaml": _web()})
    assert errors == ["containers/web.yaml:5: spec.template: required key is missing"]


def test_an_unknown_defaults_name_points_at_the_specs_defaults_line(tmp_path: Path) -> None:
    files = {"defaults/lxc.yaml": LXC, "containers/web.yaml": _web("[lxc, lxcc]")}
    errors, _ = _load(tmp_path, files)
    assert errors == [
        'containers/web.yaml:6: spec.defaults[1]: unknown Defaults "lxcc": no such Defaults '
        "(known: lxc)"
    ]


def test_defaults_without_a_section_for_the_kind_are_refused(tmp_path: Path) -> None:
    tables_only = LXC.replace("  container:", "  table:").replace("name: lxc", "name: t")
    tables_only = "\n".join(tables_only.splitlines()[:7]) + "\n"  # table: {template: ...}
    files = {"defaults/t.yaml": tables_only, "containers/web.yaml": _web("[t]")}
    errors, _ = _load(tmp_path, files)
    (refused,) = [e for e in errors if "spec.defaults" in e]
    assert refused.startswith("containers/web.yaml:6: spec.defaults[0]: Defaults 't' (")
    assert refused.endswith("has no container: section")


def test_a_typo_in_unused_defaults_is_reported(tmp_path: Path) -> None:
    errors, built = _load(tmp_path, {"defaults/lxc.yaml": LXC.replace("swap:", "swp:")})
    assert errors == ["defaults/lxc.yaml:8: spec.container.swp: unknown key; did you mean 'swap'?"]
    assert built == {}


def test_defaults_cannot_name_defaults_nor_hold_unknown_kinds(tmp_path: Path) -> None:
    lxc = LXC + "    defaults: [big]\n  policy: {}\n"
    errors, _ = _load(tmp_path, {"defaults/lxc.yaml": lxc})
    assert errors == [
        "defaults/lxc.yaml:12: spec.container.defaults: Defaults cannot name other Defaults; "
        "list every name in the spec's defaults",
        "defaults/lxc.yaml:13: spec.policy: unknown key",
    ]


def test_two_defaults_of_one_name_are_refused(tmp_path: Path) -> None:
    errors, _ = _load(tmp_path, {"defaults/a.yaml": LXC, "defaults/b.yaml": LXC})
    assert errors == ["defaults/b.yaml:4: metadata.name: Defaults 'lxc' is already defined at "
                      "defaults/a.yaml:1"]  # fmt: skip


def test_defaults_alone_change_nothing(tmp_path: Path) -> None:
    write(tmp_path, "defaults/lxc.yaml", LXC)
    result = load_desired(tmp_path)
    assert result.errors == () and result.desired is not None
    assert result.desired.containers == () and result.desired.tables == ()


def test_a_cross_spec_rule_on_a_defaults_value_points_at_the_defaults(tmp_path: Path) -> None:
    """Two CTs given one hostname by their defaults: the clash is where the value is written."""
    lxc = LXC + "    hostname: same\n"
    files = {
        "defaults/lxc.yaml": lxc,
        "containers/web.yaml": _web(),
        "containers/db.yaml": _web().replace("web", "db").replace("300", "301"),
    }
    errors, _ = _load(tmp_path, files)
    assert errors and all(
        e.startswith("defaults/lxc.yaml:12: spec.container.hostname") for e in errors
    )


def test_table_defaults(tmp_path: Path) -> None:
    defaults = (
        "apiVersion: reconciler/v1\nkind: Defaults\nmetadata: {name: curated}\nspec:\n"
        "  table:\n    catalog: lake\n    namespace: sales\n    properties: {a: '1', b: '2'}\n"
    )
    table = (
        "apiVersion: reconciler/v1\nkind: Table\nmetadata: {name: orders}\nspec:\n"
        "  defaults: [curated]\n  name: orders\n  properties: {b: '3'}\n"
        "  schema:\n    - {name: id, type: long, required: true}\n"
    )
    write(tmp_path, "defaults/curated.yaml", defaults)
    write(tmp_path, "tables/orders.yaml", table)
    result = load_desired(tmp_path)
    assert result.errors == () and result.desired is not None
    (spec,) = result.desired.tables
    assert (spec.catalog, spec.namespace, spec.name) == ("lake", ("sales",), "orders")
    assert {"a": "1", "b": "3"}.items() <= dict(spec.properties).items()


def test_the_unknown_kind_message_lists_defaults() -> None:
    docs, _ = parse_documents("apiVersion: reconciler/v1\nkind: Default\n", "x.yaml")
    _, errors = check_documents(docs)
    assert any("expected one of: Container, Defaults, MaintenancePolicy, Table" in e.message
               for e in errors)  # fmt: skip


def test_malformed_defaults_are_located_problems(tmp_path: Path) -> None:
    text = (
        "apiVersion: reconciler/v1\nkind: Defaults\nmetadata: [x]\nspec: [1]\n---\n"
        "apiVersion: reconciler/v1\nkind: Defaults\nmetadata: {name: ok}\nspec:\n"
        "  container: 5\n  table: {schema: 3}\n"
    )
    errors, _ = _load(tmp_path, {"defaults/bad.yaml": text, "containers/web.yaml": _web("[ok]")})
    assert errors == [
        "containers/web.yaml:5: spec.template: required key is missing",
        "containers/web.yaml:6: spec.defaults[0]: Defaults 'ok' "
        "(defaults/bad.yaml:6) has no container: section",
        'defaults/bad.yaml:3: metadata: ["x"] is not a mapping',
        "defaults/bad.yaml:4: spec: [1] is not a mapping",
        "defaults/bad.yaml:10: spec.container: 5 is not a mapping",
        "defaults/bad.yaml:11: spec.table.schema: 3 is not a list",
    ]


def test_a_replaced_list_takes_nothing_from_the_defaults(tmp_path: Path) -> None:
    """The defaults' network (its gateway outside the subnet, a builder's rule) is an error
    only in the spec that inherits it; the spec that gives its own list is clean."""
    lxc = (
        LXC
        + "    network:\n      - {name: eth0, bridge: vmbr0, ip: 10.0.0.5/24, gateway: 10.9.9.1}\n"
    )
    own = "  network:\n    - {name: eth0, bridge: vmbr0, ip: 10.0.0.6/24, gateway: 10.0.0.1}\n"
    files = {
        "defaults/lxc.yaml": lxc,
        "containers/web.yaml": _web(extra=own),
        "containers/db.yaml": _web().replace("web", "db").replace("300", "301"),
    }
    errors, _ = _load(tmp_path, files)
    assert len(errors) == 1 and errors[0].startswith(
        "defaults/lxc.yaml:13: spec.container.network[0]"
    )
