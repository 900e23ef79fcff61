"""`reconcile show ADDRESS --effective`: the effective spec, each value's file:line beside it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main
from reconciler.sources import load_desired

ROOT = Path(__file__).resolve().parents[3]


def _tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    config = tmp_path / "reconciler.yaml"
    config.write_text("specs: specs\nstate_dir: state\n")
    monkeypatch.chdir(tmp_path)  # file names are shown relative to the working directory
    return config


def _show(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), "show", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _origin(out: str, key: str) -> str:
    (line,) = [row for row in out.splitlines() if row.lstrip().startswith(f"{key}:")]
    return line.rsplit("# ", 1)[1]


def test_show_container_effective_names_the_origin_of_every_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _tree(tmp_path, monkeypatch)
    code, out, err = _show(config, capsys, "container/minio", "--effective")
    assert (code, err) == (0, "")
    assert out.splitlines()[:2] == [
        "# container/minio: the effective spec of specs/containers/minio.yaml",
        "# defaults applied: lxc (specs/defaults/lxc.yaml)",
    ]
    assert _origin(out, "template") == "specs/defaults/lxc.yaml:11"
    assert _origin(out, "domain") == "specs/defaults/lxc.yaml:15"
    assert _origin(out, "vmid") == "specs/containers/minio.yaml:10"
    assert _origin(out, "memory") == "specs/containers/minio.yaml:14"
    body = [row for row in out.splitlines() if not row.startswith("#")]
    assert all(" # specs/" in row for row in body)  # every line says where it came from
    assert "defaults:" not in out.replace("# defaults applied", "")  # applied, not repeated


def test_the_effective_spec_is_a_spec_that_builds_the_same_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _tree(tmp_path, monkeypatch)
    alone = tmp_path / "alone"
    (alone / "containers").mkdir(parents=True)
    for name in ("minio", "hive"):  # hive depends on minio
        _, out, _ = _show(config, capsys, f"container/{name}", "--effective")
        (alone / "containers" / f"{name}.yaml").write_text(out)
    loaded = load_desired(alone)
    assert loaded.errors == () and loaded.desired is not None
    built = next(c for c in loaded.desired.containers if c.name == "hive")
    original = next(c for c in load_desired(tmp_path / "specs").desired.containers  # type: ignore[union-attr]
                    if c.name == "hive")  # fmt: skip
    assert built.settings == original.settings and built.vmid == original.vmid == 117
    assert built.settings.rootfs is not None and built.settings.rootfs.size_bytes == 10 * 2**30
    assert yaml.safe_load(out)["spec"]["rootfs"] == {"storage": "local-lvm", "size": "10GiB"}
    assert _origin(out, "size") == "specs/containers/hive.yaml:15"
    assert _origin(out, "storage") == "specs/defaults/lxc.yaml:14"


def test_a_bad_default_is_shown_and_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _tree(tmp_path, monkeypatch)
    lxc = tmp_path / "specs" / "defaults" / "lxc.yaml"
    lxc.write_text(lxc.read_text().replace("swap: 512MiB", "swap: 2GB"))
    code, out, err = _show(config, capsys, "container/minio", "--effective")
    assert code == 1
    assert _origin(out, "swap") == "specs/defaults/lxc.yaml:13"
    assert err.startswith('specs/defaults/lxc.yaml:13: spec.container.swap: "2GB" is ambiguous')


def test_tables_by_address_with_or_without_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _tree(tmp_path, monkeypatch)
    for address in ("table/sales.orders", "table/lake.sales.orders"):
        code, out, _ = _show(config, capsys, address, "--effective")
        assert code == 0
        assert out.startswith("# table/lake.sales.orders: the effective spec of specs/tables/")
        assert "# defaults applied: none" in out


def test_unknown_addresses_and_misuse_are_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _tree(tmp_path, monkeypatch)
    code, out, err = _show(config, capsys, "container/nope", "--effective")
    assert (code, out) == (1, "")
    assert "container/nope: no spec has that address in " in err and "container/minio" in err
    code, _, err = _show(config, capsys, "container/minio")
    assert code == 1 and "reconcile show container/minio --effective" in err
    code, _, err = _show(config, capsys, "plan.json", "--effective")
    assert code == 1 and "--effective takes an address" in err
