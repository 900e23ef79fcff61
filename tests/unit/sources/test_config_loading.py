"""reconciler.yaml -> Settings: the contract example, defaults, relative paths, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.settings import Settings
from reconciler.sources.config import ConfigError, default_settings, load_settings

CONTRACT = """\
specs: specs
state_dir: .reconciler
proxmox:
  host: 127.0.0.1
  port: 8006
  user: root@pam
  token_name: reconciler
  token_secret_env: PVE_TOKEN_SECRET
  verify_ssl: path/to/ca.pem
  node: pve
  backend: https
apply: {parallelism: 2, allow_prune: false, max_deletions: 1}
catalogs:
  lake: {type: sql, uri: "sqlite:///.reconciler/catalog.db", warehouse: "file:///abs/.reconciler/warehouse"}
  minio:
    type: rest
    s3.endpoint: http://192.168.4.31:9000
    s3.secret-access-key_env: MINIO_SECRET
    s3.path-style-access: true
spark:
  master: "local[2]"
  submit: null
  jars: []
  conf: {spark.sql.shuffle.partitions: 4}
  timeout: 3600
source:
  git:
    url: "https://gitea.gti.local/lake/specs.git"
    branch: main
    path: specs
    token_env: GITEA_TOKEN
    ssh_key_file: keys/id_ed25519
    known_hosts_file: /etc/ssh/known_hosts
daemon:
  poll_interval: 60s
  drift_interval: 10m
  webhook: {listen: "127.0.0.1:9464", secret_env: WEBHOOK_SECRET}
  metrics: {listen: "127.0.0.1:9465"}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "etc" / "reconciler.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == "\n".join(str(e) for e in caught.value.errors)
    return [str(e).replace(f"{path}:", "") for e in caught.value.errors]


def test_contract_example_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, CONTRACT)
    settings = load_settings(path)
    base = path.parent
    assert settings.config_file == path
    assert settings.specs == base / "specs" and settings.state_dir == base / ".reconciler"
    assert settings.proxmox.verify_ssl == str(base / "path/to/ca.pem")
    assert (settings.proxmox.host, settings.proxmox.port, settings.proxmox.user) == (
        "127.0.0.1",
        8006,
        "root@pam",
    )
    assert settings.proxmox.token_secret_env == "PVE_TOKEN_SECRET"
    assert (settings.apply.parallelism, settings.apply.max_deletions) == (2, 1)
    assert settings.catalog("lake")["uri"] == "sqlite:///.reconciler/catalog.db"  # left alone
    assert settings.catalog("minio") == {
        "type": "rest",
        "s3.endpoint": "http://192.168.4.31:9000",
        "s3.secret-access-key_env": "MINIO_SECRET",
        "s3.path-style-access": "true",
    }
    assert settings.spark.conf == (("spark.sql.shuffle.partitions", "4"),)
    assert settings.git is not None
    assert settings.git.ssh_key_file == str(base / "keys/id_ed25519")
    assert settings.git.known_hosts_file == "/etc/ssh/known_hosts"
    assert settings.git.token_env == "GITEA_TOKEN"
    assert (settings.daemon.poll_interval, settings.daemon.drift_interval) == (60, 600)
    assert settings.daemon.webhook_listen == "127.0.0.1:9464"
    assert settings.daemon.webhook_secret_env == "WEBHOOK_SECRET"
    assert settings.daemon.webhook_rate_limit == 30  # the default: 30 a minute per source
    assert settings.daemon.metrics_listen == "127.0.0.1:9465"


def _assert_default_catalog(settings: Settings) -> None:
    state = settings.state_dir
    assert state.is_absolute()
    assert settings.catalog("lake") == {
        "type": "sql",
        "uri": f"sqlite:///{state}/catalog.db",
        "warehouse": f"file://{state}/warehouse",
    }


def test_no_config_file_gives_defaults_under_the_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if Path("/etc/reconciler/reconciler.yaml").exists():
        pytest.skip("a system config exists on this machine")
    settings = load_settings(None)
    assert settings == default_settings(tmp_path)
    assert settings.config_file is None
    assert settings.specs == tmp_path.resolve() / "specs"
    assert settings.state_dir == tmp_path.resolve() / ".reconciler"
    _assert_default_catalog(settings)


def test_config_in_working_dir_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "reconciler.yaml").write_text("specs: lake-specs\nstate_dir: /var/lib/rec\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None)
    assert settings.config_file == tmp_path.resolve() / "reconciler.yaml"
    assert settings.specs == tmp_path.resolve() / "lake-specs"
    assert settings.state_dir == Path("/var/lib/rec")
    _assert_default_catalog(settings)


def test_empty_config_file_means_defaults_next_to_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "# nothing yet\n")
    settings = load_settings(path)
    assert settings.specs == path.parent / "specs"
    assert settings.proxmox.verify_ssl is True
    _assert_default_catalog(settings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "proxmox:\n  host: pve\n  password: hunter2\n",
            [
                "3: proxmox.password: looks like a secret; secrets are never values: "
                "name an environment variable with password_env instead"
            ],
        ),
        (
            "catalogs:\n  lake:\n    type: rest\n    s3.secret-access-key: abc\n    token: t\n",
            [
                "4: catalogs.lake['s3.secret-access-key']: looks like a secret; secrets are never "
                "values: name an environment variable with s3.secret-access-key_env instead",
                "5: catalogs.lake.token: looks like a secret; secrets are never values: "
                "name an environment variable with token_env instead",
            ],
        ),
        (
            "catalogs:\n  pg: {type: sql, uri: 'postgresql://lake:s3cret@db/lake'}\n",
            [
                "2: catalogs.pg.uri: contains a password; name an environment variable "
                "with uri_env instead"
            ],
        ),
        ("proxmox:\n  hots: pve\n", ["2: proxmox.hots: unknown key; did you mean 'host'?"]),
        ("proxmox: {port: http}\n", ['1: proxmox.port: "http" is not an integer']),
        (
            "proxmox: {backend: ssh}\n",
            ['1: proxmox.backend: "ssh" is not one of: https, local'],
        ),
        ("source:\n  git: {branch: main}\n", ["2: source.git.url: required key is missing"]),
        (
            "daemon:\n  poll_interval: soon\n",
            [
                '2: daemon.poll_interval: "soon" is not a duration; use a whole number '
                "with s, m, h, d or w: 30s, 10m, 4h, 7d, 1w"
            ],
        ),
        ("apply: {parallelism: 0}\n", ["1: apply.parallelism: 0 is less than the minimum of 1"]),
        (
            "daemon:\n  webhook: {rate_limit: 0}\n",
            ["2: daemon.webhook.rate_limit: 0 is less than the minimum of 1"],
        ),
        ("specs: a\n---\nspecs: b\n", ["3: the config file must hold a single document"]),
        ("- a\n", ["1: the config must be a mapping"]),
    ],
)
def test_config_errors_are_located(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert _errors(_write(tmp_path, text)) == expected


def test_yaml_syntax_error_in_config(tmp_path: Path) -> None:
    (error,) = _errors(_write(tmp_path, "proxmox: {host: pve\nport: 1\n"))
    assert error.startswith("2: YAML syntax error: ")


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.yaml")
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}:0: config file does not exist"
