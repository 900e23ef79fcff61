"""reconciler.yaml -> Settings: schema, no literal secrets, paths relative to the file, no env."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.model.units import UnitError, parse_bytes, parse_duration
from reconciler.settings import (
    ApplySettings,
    DaemonSettings,
    GitSourceSettings,
    ProvisionSettings,
    ProxmoxSettings,
    Settings,
    SparkSettings,
)
from reconciler.sources.config_spark import URI_PASSWORD, spark_problems
from reconciler.sources.documents import Document, PathKey, SpecError, read_file
from reconciler.sources.kinds import validator_for
from reconciler.sources.validate import schema_errors

CONFIG_SCHEMA = "config.schema.json"
SEARCH_PATHS = (Path("reconciler.yaml"), Path("/etc/reconciler/reconciler.yaml"))
DEFAULT_CATALOG = "lake"
# Keys whose literal value would be a secret; `<key>_env` names an env var instead.
_SECRET_KEY = re.compile(
    r"(password|passwd|secret|credential|private[-_.]?key|api[-_.]?key|(^|[-_.])token$|(^|[-_.])key$)"
)
_SECRET_SECTIONS: tuple[PathKey, ...] = (
    ("proxmox",),
    ("source", "git"),
    ("daemon", "webhook"),
    (
        "spark",
        "conf",
    ),  # a literal would be on the spark-submit argv; `<key>_env` goes in a 0600 file
)


class ConfigError(Exception):
    """An unusable config file; `errors` holds every problem, located."""

    def __init__(self, errors: tuple[SpecError, ...]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


def _secret_problems(doc: Document) -> Iterator[SpecError]:
    """Literal secrets where only env var names belong."""
    sections: list[tuple[PathKey, Any]] = []
    for path in _SECRET_SECTIONS:
        node: Any = doc.data
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        sections.append((path, node))
    catalogs = doc.data.get("catalogs")
    if isinstance(catalogs, dict):
        sections.extend((("catalogs", name), props) for name, props in catalogs.items())
    for path, section in sections:
        if not isinstance(section, dict):
            continue
        for key, value in section.items():
            text = str(key).lower()
            if text.endswith("_env"):
                continue
            if _SECRET_KEY.search(text):
                yield doc.error((*path, key), f"looks like a secret; secrets are never values: "
                                f"name an environment variable with {key}_env instead")  # fmt: skip
            elif isinstance(value, str) and URI_PASSWORD.search(value):
                yield doc.error((*path, key), f"contains a password; name an environment variable "
                                f"with {key}_env instead")  # fmt: skip


def _resolve(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _text(value: object) -> str:
    """pyiceberg properties are strings; YAML booleans become `true`/`false`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def default_catalogs(state_dir: Path) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The embedded catalog: SQLite and a file warehouse under the state dir."""
    props = (("type", "sql"), ("uri", f"sqlite:///{state_dir}/catalog.db"),
             ("warehouse", f"file://{state_dir}/warehouse"))  # fmt: skip
    return ((DEFAULT_CATALOG, props),)


MIN_INTERVAL = 1  # seconds; 0 would make the daemon spin


def _seconds(
    value: Any, path: PathKey, default: int, doc: Document, errors: list[SpecError]
) -> int:
    if value is None:
        return default
    try:
        seconds = parse_duration(value)
    except UnitError as exc:
        errors.append(doc.error(path, str(exc)))
        return default
    if seconds < MIN_INTERVAL:
        errors.append(doc.error(path, f"must be at least {MIN_INTERVAL}s, got {seconds}s"))
        return default
    return seconds


def _proxmox(base: Path, raw: dict[str, Any]) -> ProxmoxSettings:
    verify = raw.get("verify_ssl", True)
    if isinstance(verify, str):
        verify = str(_resolve(base, verify))
    return ProxmoxSettings(
        **{**{k: v for k, v in raw.items() if k != "verify_ssl"}, "verify_ssl": verify}
    )


def _git(base: Path, raw: dict[str, Any] | None) -> GitSourceSettings | None:
    if raw is None:
        return None
    values = dict(raw)
    for key in ("ssh_key_file", "known_hosts_file"):
        if key in values:
            values[key] = str(_resolve(base, values[key]))
    return GitSourceSettings(**values)


def _provision(base: Path, raw: dict[str, Any] | None) -> ProvisionSettings | None:
    if raw is None:
        return None
    values = dict(raw)
    for key in ("key_file", "known_hosts_file"):
        values[key] = str(_resolve(base, values[key]))
    return ProvisionSettings(**values)


def loopback_host(host: str | None) -> bool:
    """Traffic to this host never leaves the machine (plain http:// may carry a token)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _clear_text_token(doc: Document, raw: dict[str, Any] | None) -> Iterator[SpecError]:
    """A token sent over plain http:// can be read by anyone on the path: loopback only."""
    if not isinstance(raw, dict) or not raw.get("token_env") or not isinstance(raw.get("url"), str):
        return
    parts = urlsplit(raw["url"])
    if parts.scheme == "http" and not loopback_host(parts.hostname):
        yield doc.error(
            ("source", "git", "url"),
            "an http:// URL would send the token of source.git.token_env in clear text; "
            "use https:// (plain http:// is allowed to loopback only)",
        )


_BEARER_KEYS = ("token_env", "credential_env")


def _clear_text_catalog_token(doc: Document, catalogs: Any) -> Iterator[SpecError]:
    """A REST catalog's token or credential (or an HTTP header) over plain http://: refused
    unless the catalog is on loopback."""
    if not isinstance(catalogs, dict):
        return
    for name, props in catalogs.items():
        if not isinstance(props, dict) or not isinstance(props.get("uri"), str):
            continue
        bearer = [k for k in props if k in _BEARER_KEYS or str(k).startswith("header.")]
        parts = urlsplit(props["uri"])
        if bearer and parts.scheme == "http" and not loopback_host(parts.hostname):
            yield doc.error(
                ("catalogs", name, "uri"),
                f"an http:// URI would send {bearer[0]} in clear text; use https:// "
                "(plain http:// is allowed to loopback only)",
            )


def _daemon(doc: Document, raw: dict[str, Any], errors: list[SpecError]) -> DaemonSettings:
    webhook = raw.get("webhook", {})
    return DaemonSettings(
        poll_interval=_seconds(
            raw.get("poll_interval"), ("daemon", "poll_interval"), 60, doc, errors
        ),
        drift_interval=_seconds(
            raw.get("drift_interval"), ("daemon", "drift_interval"), 600, doc, errors
        ),
        webhook_listen=webhook.get("listen"),
        webhook_secret_env=webhook.get("secret_env"),
        webhook_rate_limit=webhook.get("rate_limit", DaemonSettings.webhook_rate_limit),
        metrics_listen=raw.get("metrics", {}).get("listen"),
        stall_timeout=None
        if raw.get("stall_timeout") is None
        else _seconds(raw.get("stall_timeout"), ("daemon", "stall_timeout"), 0, doc, errors),
        previews=raw.get("previews", {}).get("enabled", False) is True,
    )


def _previews_problems(doc: Document, data: dict[str, Any]) -> Iterator[SpecError]:
    """Previews arrive as webhook deliveries and are fetched from the git source."""
    daemon = data.get("daemon", {})
    if daemon.get("previews", {}).get("enabled", False) is not True:
        return
    where = ("daemon", "previews", "enabled")
    if not daemon.get("webhook", {}).get("listen"):
        yield doc.error(where, "needs daemon.webhook (pull_request events come through it)")
    if not data.get("source", {}).get("git"):
        yield doc.error(where, "needs source.git (the pull requests' repository)")
    elif not data["source"]["git"].get("token_env"):
        yield doc.error(where, "needs source.git.token_env (a Gitea token to comment with)")


def _spark(base: Path, raw: dict[str, Any]) -> SparkSettings:
    packages = raw.get("packages")
    return SparkSettings(
        master=raw.get("master", "local[2]"),
        remote=raw.get("remote"),
        submit=raw.get("submit"),
        # Relative jar paths are relative to the config file, like every other path in it.
        jars=tuple(j if "://" in j else str(_resolve(base, j)) for j in raw.get("jars", ())),
        conf=tuple(sorted((str(k), _text(v)) for k, v in raw.get("conf", {}).items())),
        timeout=float(raw.get("timeout", 3600.0)),
        packages=None if packages is None else tuple(str(p) for p in packages),
        repositories=tuple(str(r) for r in raw.get("repositories", ())),
        cores=raw.get("cores"),
        partial_progress_size=(
            parse_bytes(raw["partialProgressSize"], "G") if "partialProgressSize" in raw else None
        ),
    )


def settings_from(doc: Document, config_file: Path) -> Settings:
    """One parsed config document -> Settings, or ConfigError with every problem."""
    if doc.data is None:
        doc = Document(doc.file, doc.index, doc.line, {}, doc.lines)
    if not isinstance(doc.data, dict):
        raise ConfigError((doc.error((), "the config must be a mapping"),))
    errors = list(_secret_problems(doc))
    flagged = {(e.line, e.path) for e in errors}
    for error in validator_for(CONFIG_SCHEMA).iter_errors(doc.data):
        errors.extend(e for e in schema_errors(doc, error) if (e.line, e.path) not in flagged)
    if isinstance(doc.data.get("spark"), dict):
        errors.extend(e for e in spark_problems(doc, doc.data["spark"]) if e not in errors)
    if errors:
        raise ConfigError(tuple(errors))
    data: dict[str, Any] = doc.data
    base = config_file.parent.resolve()
    state_dir = _resolve(base, data.get("state_dir", ".reconciler"))
    catalogs = data.get("catalogs")
    settings = Settings(
        config_file=config_file.resolve(),
        specs=_resolve(base, data.get("specs", "specs")),
        state_dir=state_dir,
        proxmox=_proxmox(base, data.get("proxmox", {})),
        apply=ApplySettings(**data.get("apply", {})),
        catalogs=default_catalogs(state_dir)
        if catalogs is None
        else tuple(
            (name, tuple(sorted((str(k), _text(v)) for k, v in props.items())))
            for name, props in sorted(catalogs.items())
        ),
        spark=_spark(base, data.get("spark", {})),
        git=_git(base, data.get("source", {}).get("git")),
        daemon=_daemon(doc, data.get("daemon", {}), errors),
        provision=_provision(base, data.get("provision")),
    )
    errors.extend(_clear_text_token(doc, data.get("source", {}).get("git")))
    errors.extend(_clear_text_catalog_token(doc, data.get("catalogs")))
    errors.extend(_previews_problems(doc, data))
    if errors:
        raise ConfigError(tuple(errors))
    return settings


def default_settings(base: Path | None = None) -> Settings:
    """No config file: specs and state under the working directory, embedded catalog."""
    root = (base or Path.cwd()).resolve()
    state_dir = root / ".reconciler"
    return Settings(config_file=None, specs=root / "specs", state_dir=state_dir,
                    catalogs=default_catalogs(state_dir))  # fmt: skip


def load_settings(path: Path | None = None) -> Settings:
    """`path`, else ./reconciler.yaml, else /etc/reconciler/reconciler.yaml, else defaults."""
    if path is None:
        path = next((candidate for candidate in SEARCH_PATHS if candidate.is_file()), None)
        if path is None:
            return default_settings()
    elif not path.is_file():
        raise ConfigError((SpecError(str(path), 0, "", "config file does not exist"),))
    docs, errors = read_file(path, str(path))
    if errors:
        raise ConfigError(errors)
    if len(docs) > 1:
        raise ConfigError((docs[1].error((), "the config file must hold a single document"),))
    doc = docs[0] if docs else Document(str(path), 0, 1, {})
    return settings_from(doc, path)


__all__ = ["ConfigError", "default_settings", "load_settings", "settings_from"]
