"""The repo's example specs build the seed's data lake exactly; building details of Container."""

from __future__ import annotations

from pathlib import Path

from sources_spec_files import container, write

from reconciler.model.containers import OWNER_TAG, MountPoint, PowerState, Volume
from reconciler.model.units import GIB, MIB
from reconciler.sources import load_desired
from reconciler.sources.build_containers import ostype_of

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
# name: (vmid, cores, memory MiB, rootfs GiB, last IP octet, startup order, dependsOn)
SEED = {
    "minio": (107, 2, 2048, 20, 31, 1, ()),
    "spark": (108, 2, 4096, 20, 33, 3, ("container/minio", "container/hive")),
    "kafka": (109, 2, 4096, 20, 34, 2, ()),
    "superset": (115, 1, 1024, 20, 37, 4, ("container/spark",)),
    "airflow": (116, 2, 4096, 20, 36, 4, ("container/spark", "container/kafka")),
    "hive": (117, 2, 2048, 10, 32, 2, ("container/minio",)),
    "gitea": (118, 1, 1024, 10, 26, 0, ()),
}


def test_example_specs_build_the_seed_containers() -> None:
    result = load_desired(REPO / "specs")  # the containers name specs/defaults/lxc.yaml
    assert result.errors == ()
    assert result.desired is not None
    built = {spec.name: spec for spec in result.desired.containers}
    assert sorted(built) == sorted(SEED)
    for name, (vmid, cores, memory, disk, octet, order, deps) in SEED.items():
        spec = built[name]
        settings = spec.settings
        assert (spec.vmid, settings.cores, settings.memory_mib) == (vmid, cores, memory)
        assert settings.rootfs == Volume("local-lvm", disk * GIB)
        assert spec.node == "pve" and spec.template == TEMPLATE
        assert spec.state is PowerState.RUNNING
        assert settings.hostname == name and settings.ostype == "debian"
        assert settings.unprivileged and settings.features.nesting and settings.on_boot
        assert not settings.protection and settings.mountpoints == ()
        assert settings.searchdomain == "gti.local"
        (nic,) = settings.network
        assert (nic.index, nic.name, nic.bridge) == (0, "eth0", "vmbr0")
        assert (nic.ip, nic.gateway) == (f"192.168.4.{octet}/24", "192.168.4.1")
        assert settings.startup is not None and settings.startup.order == order
        assert spec.depends_on == deps
        assert OWNER_TAG in settings.tags and settings.tags == tuple(sorted(settings.tags))
        assert spec.source is not None and spec.source.file.endswith(f"containers/{name}.yaml")


def test_example_specs_point_editors_at_the_schema() -> None:
    for path in sorted((REPO / "specs" / "containers").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../schemas/container.schema.json"
        assert (path.parent / "../../schemas/container.schema.json").resolve().is_file()


def test_units_defaults_and_normalisation(tmp_path: Path) -> None:
    extra = """\
  swap: 0
  cores: 2
  tags: [Storage, datalake]
  mountpoints:
    - {path: /data, storage: local-lvm, size: 100, backup: true}
    - {id: 5, path: /srv/lake, hostPath: /tank/lake, readOnly: true}
  startup: {order: 2, upDelay: 30s, downDelay: 1m}
  dns: {domain: gti.local, servers: [192.168.4.1, 1.1.1.1]}
"""
    text = container("minio", 107, "192.168.4.31", deps="[hive, container/gitea]", extra=extra)
    write(tmp_path, "containers/minio.yaml", text.replace("memory: 1GiB", "memory: 2048"))
    write(tmp_path, "containers/more.yml", container("hive", 117, "192.168.4.32") + "---\n"
          + container("gitea", 118, "192.168.4.26"))  # fmt: skip
    result = load_desired(tmp_path)
    assert result.errors == ()
    assert result.desired is not None
    assert [c.name for c in result.desired.containers] == ["gitea", "hive", "minio"]
    minio = result.desired.containers[2]
    assert minio.settings.memory_mib == 2048 and minio.settings.swap_mib == 0
    assert minio.settings.rootfs == Volume("local-lvm", 8 * GIB)
    assert minio.settings.mountpoints == (
        MountPoint(id=0, path="/data", volume=Volume("local-lvm", 100 * GIB), backup=True),
        MountPoint(id=5, path="/srv/lake", host_path="/tank/lake", read_only=True),
    )
    assert minio.settings.tags == ("datalake", OWNER_TAG, "storage")
    assert minio.settings.startup is not None
    assert (minio.settings.startup.up_seconds, minio.settings.startup.down_seconds) == (30, 60)
    assert minio.settings.nameservers == ("192.168.4.1", "1.1.1.1")
    assert minio.depends_on == ("container/hive", "container/gitea")
    assert minio.node is None and minio.settings.hostname == "minio"
    hive = result.desired.containers[1]
    assert hive.settings.swap_mib == 512 and hive.settings.memory_mib == 1024
    assert hive.settings.startup is None and hive.settings.on_boot is False
    assert hive.source is not None and hive.source.line == 1
    assert result.desired.containers[0].source.line == 14  # type: ignore[union-attr]


def test_memory_in_mib_units(tmp_path: Path) -> None:
    text = container("a", 200, "10.0.0.2").replace("memory: 1GiB", "memory: 1536MiB")
    write(tmp_path, "a.yaml", text.replace("gateway: 192.168.4.1", "gateway: 10.0.0.1"))
    result = load_desired(tmp_path)
    assert result.desired is not None
    assert result.desired.containers[0].settings.memory_mib * MIB == 1536 * MIB


def test_ostype_from_template_file_name() -> None:
    assert ostype_of(TEMPLATE) == "debian"
    assert ostype_of("local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst") == "ubuntu"
    assert ostype_of("local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz") == "alpine"
    assert ostype_of("local:vztmpl/rockylinux-9-default_20240912_amd64.tar.xz") == "centos"
    assert ostype_of("nfs:vztmpl/archlinux-base_20240911-1_amd64.tar.zst") == "archlinux"
    assert ostype_of("local:vztmpl/mystery-os_1.0_amd64.tar.gz") is None


def test_files_are_sorted_and_dotfiles_and_config_skipped(tmp_path: Path) -> None:
    write(tmp_path, "containers/b.yaml", container("b", 201, "192.168.4.51"))
    write(tmp_path, "containers/a.yaml", container("a", 200, "192.168.4.50"))
    write(tmp_path, "containers/.hidden.yaml", "not: [valid")
    write(tmp_path, ".git/x.yaml", "not: [valid")
    write(tmp_path, "reconciler.yaml", "specs: .")
    write(tmp_path, "containers/notes.txt", "ignored")
    result = load_desired(tmp_path)
    assert result.errors == ()
    assert result.desired is not None
    assert [c.source.file for c in result.desired.containers] == [  # type: ignore[union-attr]
        str(tmp_path / "containers/a.yaml"),
        str(tmp_path / "containers/b.yaml"),
    ]
