"""Typed settings read from reconciler.yaml; the data only, loading lives in sources.config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ProxmoxSettings:
    host: str = "127.0.0.1"
    port: int = 8006
    user: str = "root@pam"
    token_name: str = "reconciler"
    token_secret_env: str = "PVE_TOKEN_SECRET"
    verify_ssl: bool | str = True  # True/False or a CA bundle path
    node: str = "pve"
    backend: str = "https"  # "https" | "local" (pvesh on the host)
    timeout: float = 60.0
    parallel_reads: int = 8


@dataclass(frozen=True)
class ApplySettings:
    parallelism: int = 2
    allow_prune: bool = False
    max_deletions: int = 1
    task_timeout: float = 600.0
    retries: int = 4


@dataclass(frozen=True)
class SparkSettings:
    master: str = "local[2]"
    # A Spark Connect server (sc://host:15002): calls run there, no spark-submit.
    remote: str | None = None
    submit: str | None = None
    jars: tuple[str, ...] = ()
    conf: tuple[tuple[str, str], ...] = ()
    timeout: float = 3600.0
    # Maven coordinates for --packages; None: the Iceberg runtime (+ AWS bundle for s3://)
    # unless `jars` are given (air-gapped hosts bring their own).
    packages: tuple[str, ...] | None = None
    repositories: tuple[str, ...] = ()
    # Cores the cluster offers maintenance (None: from master/executor conf) and the rewrite
    # size from which compaction commits group by group (None: the differ's default).
    cores: int | None = None
    partial_progress_size: int | None = None


@dataclass(frozen=True)
class GitSourceSettings:
    url: str
    branch: str = "main"
    path: str = "specs"
    token_env: str | None = None
    ssh_key_file: str | None = None
    known_hosts_file: str | None = None
    commit_status: bool = False  # post pending/success/failure to Gitea per reconciled commit
    api_url: str | None = None  # status URL template with {sha}; derived from an https url


@dataclass(frozen=True)
class DaemonSettings:
    poll_interval: int = 60
    drift_interval: int = 600
    webhook_listen: str | None = None
    webhook_secret_env: str | None = None
    webhook_rate_limit: int = 30  # requests per minute per source address
    metrics_listen: str | None = None
    stall_timeout: int | None = None  # silent seconds in a cycle before watchdog pings stop
    previews: bool = False  # plan previews on Gitea pull requests (needs webhook and source.git)


@dataclass(frozen=True)
class ProvisionSettings:
    """`provision:` SSH access to the CTs (paths resolved against the config file)."""

    key_file: str
    known_hosts_file: str
    user: str = "datalake"
    port: int = 22
    connect_timeout: int = 10
    authorized_keys_file: str = ".ssh/authorized_keys"


@dataclass(frozen=True)
class Settings:
    config_file: Path | None
    specs: Path
    state_dir: Path
    proxmox: ProxmoxSettings = field(default_factory=ProxmoxSettings)
    apply: ApplySettings = field(default_factory=ApplySettings)
    catalogs: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    spark: SparkSettings = field(default_factory=SparkSettings)
    git: GitSourceSettings | None = None
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    provision: ProvisionSettings | None = None  # None: provisioning and readiness are off

    def catalog(self, name: str) -> dict[str, str]:
        return dict(dict(self.catalogs)[name])
