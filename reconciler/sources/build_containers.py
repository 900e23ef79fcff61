"""Schema-valid `kind: Container` documents -> model.ContainerSpec, plus cross-container rules."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from reconciler.model.containers import (
    OWNER_TAG,
    ContainerSettings,
    ContainerSpec,
    DriftMode,
    Features,
    MountPoint,
    NetworkInterface,
    PowerState,
    RestartMode,
    SourceRef,
    Startup,
    Volume,
)
from reconciler.model.units import UnitError, parse_bytes, parse_duration, parse_mib
from reconciler.model.windows import Window
from reconciler.sources.build_policies import parse_window
from reconciler.sources.build_provision import build_provision, build_readiness
from reconciler.sources.documents import Built, Document, PathKey, Problems, SpecError
from reconciler.sources.ignore_paths import check_ignore

BARE_REF_PREFIX = "container"  # `dependsOn: [minio]` means container/minio
MIN_MEMORY_MIB = 16  # PVE's minimum
# First token of a template file name -> PVE ostype; an unknown distribution leaves it to PVE.
_OSTYPES = {
    "debian": "debian", "ubuntu": "ubuntu", "devuan": "devuan", "alpine": "alpine",
    "centos": "centos", "rocky": "centos", "rockylinux": "centos", "almalinux": "centos",
    "fedora": "fedora", "archlinux": "archlinux", "opensuse": "opensuse", "gentoo": "gentoo",
    "nixos": "nixos",
}  # fmt: skip


def normalise_ref(ref: str) -> str:
    """`minio` -> `container/minio`; addresses (`kind/name`) are kept as written."""
    return ref if "/" in ref else f"{BARE_REF_PREFIX}/{ref}"


def ostype_of(template: str) -> str | None:
    """`local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst` -> `debian`."""
    file_name = template.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    first = file_name.replace("_", "-").split("-", 1)[0].lower()
    return _OSTYPES.get(first)


def _size(problems: Problems, path: PathKey, value: Any, bare_unit: str) -> int | None:
    try:
        size = parse_bytes(value, bare_unit)
    except UnitError as exc:
        problems.add(path, str(exc))
        return None
    if size <= 0:
        problems.add(path, "size must be greater than zero")
        return None
    return size


def _mib(problems: Problems, path: PathKey, value: Any, minimum: int) -> int | None:
    try:
        mib = parse_mib(value)
    except UnitError as exc:
        problems.add(path, str(exc))
        return None
    if mib < minimum:
        problems.add(path, f"must be at least {minimum}MiB")
        return None
    return mib


def _seconds(problems: Problems, path: PathKey, value: Any) -> int | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except UnitError as exc:
        problems.add(path, str(exc))
        return None


def _mountpoints(problems: Problems, items: list[dict[str, Any]]) -> tuple[MountPoint, ...]:
    mounts: list[MountPoint] = []
    used: set[int] = set()
    for index, item in enumerate(items):
        path: PathKey = ("spec", "mountpoints", index)
        mp_id = item.get("id", index)
        if mp_id in used:
            problems.add((*path, "id"), f"mount point id {mp_id} is used twice")
        used.add(mp_id)
        volume = None
        if "hostPath" in item:
            if "storage" in item or "size" in item:
                problems.add(
                    path, "give either hostPath (bind mount) or storage and size, not both"
                )
        elif "storage" not in item or "size" not in item:
            problems.add(path, "a volume mount point needs storage and size (or hostPath)")
        else:
            size = _size(problems, (*path, "size"), item["size"], "G")
            volume = Volume(item["storage"], size or 0)
        mounts.append(
            MountPoint(
                id=mp_id, path=item.get("path", ""), volume=volume, host_path=item.get("hostPath"),
                backup=item.get("backup"), read_only=item.get("readOnly", False),
            )
        )  # fmt: skip
    return tuple(sorted(mounts, key=lambda m: m.id))


def _check_gateway(
    problems: Problems, path: PathKey, ip: str | None, gateway: str | None, version: int
) -> None:
    ip_key, gw_key = ("ip", "gateway") if version == 4 else ("ip6", "gateway6")
    keywords = ("dhcp", "manual") if version == 4 else ("dhcp", "manual", "auto")
    interface = None
    if ip is not None and ip not in keywords:
        try:
            interface = ipaddress.ip_interface(ip)
            if interface.version != version or "/" not in ip:
                raise ValueError(ip)
        except ValueError:
            problems.add((*path, ip_key), f"{ip!r} is not an IPv{version} address/prefix "
                         f"or one of {', '.join(keywords)}")  # fmt: skip
            interface = None
    if gateway is None:
        return
    try:
        address = ipaddress.ip_address(gateway)
        if address.version != version:
            raise ValueError(gateway)
    except ValueError:
        problems.add((*path, gw_key), f"{gateway!r} is not an IPv{version} address")
        return
    if interface is not None and address not in interface.network:
        problems.add(
            (*path, gw_key), f"gateway {gateway} is outside the subnet {interface.network}"
        )


def _network(problems: Problems, items: list[dict[str, Any]]) -> tuple[NetworkInterface, ...]:
    nics: list[NetworkInterface] = []
    used_ids: set[int] = set()
    used_names: set[str] = set()
    for index, item in enumerate(items):
        path: PathKey = ("spec", "network", index)
        nic_id = item.get("id", index)
        if nic_id in used_ids:
            problems.add((*path, "id"), f"interface id {nic_id} (net{nic_id}) is used twice")
        if "name" in item and item["name"] in used_names:
            problems.add((*path, "name"), f"interface name {item['name']!r} is used twice")
        used_ids.add(nic_id)
        used_names.add(item.get("name", ""))
        _check_gateway(problems, path, item.get("ip"), item.get("gateway"), 4)
        _check_gateway(problems, path, item.get("ip6"), item.get("gateway6"), 6)
        rate = item.get("rate")
        nics.append(
            NetworkInterface(
                index=nic_id, name=item.get("name", ""), bridge=item.get("bridge", ""),
                ip=item.get("ip"), gateway=item.get("gateway"), ip6=item.get("ip6"),
                gateway6=item.get("gateway6"),
                firewall=item.get("firewall", False), vlan=item.get("vlan"), mtu=item.get("mtu"),
                rate=float(rate) if rate is not None else None,
                hwaddr=item["hwaddr"].upper() if "hwaddr" in item else None,
            )
        )  # fmt: skip
    return tuple(sorted(nics, key=lambda n: n.index))


def _tags(problems: Problems, tags: list[str]) -> tuple[str, ...]:
    lowered = {tag.lower() for tag in tags}
    if OWNER_TAG in lowered:
        problems.add(("spec", "tags"), f"{OWNER_TAG!r} is added by the reconciler; do not list it")
    return tuple(sorted(lowered | {OWNER_TAG}))


def _startup(problems: Problems, startup: dict[str, Any] | None) -> Startup | None:
    if startup is None:
        return None
    return Startup(
        order=startup.get("order"),
        up_seconds=_seconds(problems, ("spec", "startup", "upDelay"), startup.get("upDelay")),
        down_seconds=_seconds(problems, ("spec", "startup", "downDelay"), startup.get("downDelay")),
    )


def _settings(problems: Problems, name: str, spec: dict[str, Any]) -> ContainerSettings:
    rootfs = spec.get("rootfs")
    root_volume = None
    if rootfs is not None and "size" in rootfs:
        size = _size(problems, ("spec", "rootfs", "size"), rootfs["size"], "G")
        root_volume = Volume(rootfs.get("storage", ""), size or 0)
    dns = spec.get("dns", {})
    features = spec.get("features", {})
    cpulimit = spec.get("cpuLimit")
    return ContainerSettings(
        hostname=spec.get("hostname", name),
        memory_mib=_mib(problems, ("spec", "memory"), spec.get("memory", 512), MIN_MEMORY_MIB) or 0,
        swap_mib=_mib(problems, ("spec", "swap"), spec.get("swap", 512), 0) or 0,
        cores=spec.get("cores"),
        cpulimit=float(cpulimit) if cpulimit is not None else None,
        description=spec.get("description"),
        rootfs=root_volume,
        mountpoints=_mountpoints(problems, spec.get("mountpoints", [])),
        network=_network(problems, spec.get("network", [])),
        searchdomain=dns.get("domain"),
        nameservers=tuple(dns.get("servers", ())),
        features=Features(
            nesting=features.get("nesting", False),
            keyctl=features.get("keyctl", False),
            fuse=features.get("fuse", False),
            mknod=features.get("mknod", False),
            mount=tuple(features.get("mount", ())),
        ),
        on_boot=spec.get("onBoot", False),
        startup=_startup(problems, spec.get("startup")),
        tags=_tags(problems, spec.get("tags", [])),
        protection=spec.get("protection", False),
        unprivileged=spec.get("unprivileged", True),
        ostype=ostype_of(spec.get("template", "")),
    )


def _restart(problems: Problems, spec: dict[str, Any]) -> tuple[RestartMode, Window | None]:
    """`restart` and `restartWindow`: the window is required by, and only allowed with, `window`."""
    raw = spec.get("restart", RestartMode.MANUAL.value)
    mode = RestartMode(raw) if raw in {m.value for m in RestartMode} else RestartMode.MANUAL
    raw_window = spec.get("restartWindow")
    if mode is RestartMode.WINDOW and raw_window is None:
        problems.add(("spec", "restart"), "restart: window needs a restartWindow")
    if mode is not RestartMode.WINDOW and raw_window is not None:
        problems.add(
            ("spec", "restartWindow"),
            f"restartWindow is used only with restart: window, not {mode.value}",
        )
    if not isinstance(raw_window, dict):
        return mode, None
    return mode, parse_window(problems, raw_window, ("spec", "restartWindow"))


def build_container(doc: Document, problems: Problems) -> ContainerSpec | None:
    """A Container document -> ContainerSpec, every problem reported through `problems`;
    None when a required key is missing (the schema reports that)."""
    name: str = doc.data["metadata"].get("name", "")
    spec: dict[str, Any] = doc.data["spec"]
    settings = _settings(problems, name, spec)
    check_ignore(problems, spec.get("ignore", []))
    restart, window = _restart(problems, spec)
    if not name or "vmid" not in spec or "template" not in spec:
        return None
    built = ContainerSpec(
        name=name,
        vmid=spec["vmid"],
        node=spec.get("node"),
        template=spec["template"],
        settings=settings,
        state=PowerState(spec.get("state", "running")),
        ssh_public_keys=tuple(spec.get("sshPublicKeys", ())),
        depends_on=tuple(normalise_ref(ref) for ref in spec.get("dependsOn", ())),
        drift=DriftMode(spec.get("drift", "enforce")),
        ignore=tuple(spec.get("ignore", ())),
        allow_destructive=bool(spec.get("allowDestructive", False)),
        restart=restart,
        restart_window=window,
        provision=build_provision(doc, problems, spec.get("provision")),
        readiness=build_readiness(doc, problems, spec.get("readiness")),
        labels=tuple(sorted(doc.data["metadata"].get("labels", {}).items())),
        source=SourceRef(doc.file, doc.line),
    )
    return built


def _static_ips(doc: Document) -> Iterable[tuple[int, str]]:
    """(position in the spec's network list, address) for each static IP; already validated."""
    for position, item in enumerate(doc.data["spec"].get("network", [])):
        for key in ("ip", "ip6"):
            ip = item.get(key)
            if ip and "/" in ip:
                try:
                    yield position, str(ipaddress.ip_interface(ip).ip)
                except ValueError:
                    continue  # reported by build_container


def check_containers(built: Sequence[Built]) -> Iterable[SpecError]:
    """Across Container specs: vmids, hostnames and static IP addresses are unique."""
    vmids: dict[int, str] = {}
    hostnames: dict[str, str] = {}
    ips: dict[str, str] = {}
    for item in built:
        spec: ContainerSpec = item.spec
        doc = item.doc
        first = vmids.setdefault(spec.vmid, spec.address)
        if first != spec.address:
            yield doc.error(("spec", "vmid"), f"vmid {spec.vmid} is also used by {first}")
        hostname = spec.settings.hostname.lower()
        first = hostnames.setdefault(hostname, spec.address)
        if first != spec.address:
            path: PathKey = (
                ("spec", "hostname") if "hostname" in doc.data["spec"] else ("metadata", "name")
            )
            yield doc.error(path, f"hostname {hostname!r} is also used by {first}")
        for position, ip in _static_ips(doc):
            first = ips.setdefault(ip, spec.address)
            if first != spec.address:
                yield doc.error(
                    ("spec", "network", position), f"IP address {ip} is also used by {first}"
                )
