"""Desired and observed LXC containers as frozen data; pure, no I/O, no SDK types.

Both sides are expressed as `ContainerSettings` in the same units (MiB for
memory, bytes for disks, 1/0 booleans as `bool`) so the differ compares like
with like. Encoding and decoding PVE config values happen in the field registry
(plan.container_fields), never here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from reconciler.model.windows import Window

OWNER_TAG = "managed-by-reconciler"  # PVE tag marking a CT as ours
CREATE_PENDING_TAG = "reconciler-create-pending"  # set before POST, cleared after success


class DriftMode(str, Enum):
    ENFORCE = "enforce"
    WARN = "warn"
    IGNORE = "ignore"


class RestartMode(str, Enum):
    """When the reconciler may reboot a running CT to apply values PVE holds pending."""

    AUTO = "auto"  # whenever PVE holds pending values
    WINDOW = "window"  # only inside `restartWindow`; otherwise deferred to its next start
    MANUAL = "manual"  # never (default): only `apply --allow-restart`


class PowerState(str, Enum):
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(frozen=True)
class SourceRef:
    """Where a spec came from, for error messages and drift reports."""

    file: str
    line: int


@dataclass(frozen=True)
class Volume:
    """A storage-backed volume (rootfs or mount point); size in bytes."""

    storage: str
    size_bytes: int


@dataclass(frozen=True)
class MountPoint:
    """`mpN`: either a storage volume or a bind mount of `host_path` (root@pam only)."""

    id: int
    path: str
    volume: Volume | None = None
    host_path: str | None = None
    backup: bool | None = None
    read_only: bool = False


@dataclass(frozen=True)
class NetworkInterface:
    """`netN`. `hwaddr` None on the desired side means: keep what PVE generated."""

    index: int
    name: str
    bridge: str
    ip: str | None = None  # CIDR, `dhcp` or `manual`
    gateway: str | None = None
    ip6: str | None = None
    gateway6: str | None = None
    firewall: bool = False
    vlan: int | None = None
    mtu: int | None = None
    rate: float | None = None
    hwaddr: str | None = None


@dataclass(frozen=True)
class Features:
    nesting: bool = False
    keyctl: bool = False
    fuse: bool = False
    mknod: bool = False
    mount: tuple[str, ...] = ()


@dataclass(frozen=True)
class Startup:
    order: int | None = None
    up_seconds: int | None = None
    down_seconds: int | None = None


@dataclass(frozen=True)
class ContainerSettings:
    """The comparable configuration of one CT, identical in shape on both sides.

    None means "absent from the PVE config" (PVE's default applies), except for
    computed values (`NetworkInterface.hwaddr`) which the differ skips when the
    desired side leaves them None.
    """

    hostname: str
    memory_mib: int = 512
    swap_mib: int = 512
    cores: int | None = None
    cpulimit: float | None = None
    description: str | None = None
    rootfs: Volume | None = None
    mountpoints: tuple[MountPoint, ...] = ()
    network: tuple[NetworkInterface, ...] = ()
    searchdomain: str | None = None
    nameservers: tuple[str, ...] = ()
    features: Features = field(default_factory=Features)
    on_boot: bool = False
    startup: Startup | None = None
    tags: tuple[str, ...] = ()  # sorted, lower-case, ownership tags included
    protection: bool = False
    unprivileged: bool = True
    ostype: str | None = None


@dataclass(frozen=True)
class ProvisionStep:
    """One script run over SSH; `script` is its path under the specs root (display, file names),
    `sha256` the hash of `content`. `env` pairs a remote variable with the local env var
    holding its value (the value itself is never part of the model)."""

    script: str
    content: bytes
    sha256: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # (remote name, local env var name), sorted
    run_as: str | None = None  # None: the login user (config provision.user)
    timeout_seconds: int = 600


@dataclass(frozen=True)
class Provision:
    """`spec.provision`: ordered steps and an optional SSH address override."""

    steps: tuple[ProvisionStep, ...] = ()
    host: str | None = None


@dataclass(frozen=True)
class Readiness:
    """`spec.readiness`: exactly one of `tcp` (a port), `http` (a URL) or `command` (a step)."""

    tcp: int | None = None
    http: str | None = None
    command: ProvisionStep | None = None
    timeout_seconds: int = 300
    interval_seconds: int = 5

    @property
    def awaited(self) -> str:
        """What the plan says it waits for, e.g. `tcp 9000`."""
        if self.tcp is not None:
            return f"tcp {self.tcp}"
        if self.http is not None:
            return f"http {self.http}"
        return f"command {self.command.script if self.command else '?'}"


@dataclass(frozen=True)
class ContainerSpec:
    """One desired CT from a `kind: Container` document, validated and normalised."""

    name: str
    vmid: int
    node: str | None
    template: str
    settings: ContainerSettings
    state: PowerState = PowerState.RUNNING
    ssh_public_keys: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()  # addresses, e.g. ("container/minio",)
    drift: DriftMode = DriftMode.ENFORCE
    ignore: tuple[str, ...] = ()  # field paths never compared
    labels: tuple[tuple[str, str], ...] = ()
    source: SourceRef | None = None
    allow_destructive: bool = False  # spec opt-in; destructive lines also need the CLI flag
    restart: RestartMode = RestartMode.MANUAL  # reboots are opt-in
    restart_window: Window | None = None  # set exactly when restart is WINDOW
    provision: Provision | None = None
    readiness: Readiness | None = None

    @property
    def address(self) -> str:
        return f"container/{self.name}"

    @property
    def ssh_host(self) -> str | None:
        """`provision.host`, else the first interface's static IP without its prefix."""
        if self.provision is not None and self.provision.host:
            return self.provision.host
        for nic in self.settings.network:
            if nic.ip and "/" in nic.ip:
                return nic.ip.split("/", 1)[0]
        return None


@dataclass(frozen=True)
class ObservedContainer:
    """One CT as PVE reports it: `settings` with pending values applied."""

    vmid: int
    node: str
    status: PowerState
    settings: ContainerSettings
    digest: str
    lock: str | None = None
    pending_keys: frozenset[str] = frozenset()  # PVE keys waiting for a restart
    template: bool = False

    @property
    def owned(self) -> bool:
        return OWNER_TAG in self.settings.tags

    @property
    def create_pending(self) -> bool:
        return CREATE_PENDING_TAG in self.settings.tags


@dataclass(frozen=True)
class GuestSummary:
    """One row of `/cluster/resources?type=vm` (qemu or lxc)."""

    vmid: int
    node: str
    kind: str  # "lxc" | "qemu"
    name: str
    status: str
    tags: tuple[str, ...] = ()
    lock: str | None = None

    @property
    def owned(self) -> bool:
        return OWNER_TAG in self.tags
