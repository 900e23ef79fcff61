"""`PveSim`: the simulator as a context manager running its HTTPS server in a thread."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from .auth import Authenticator
from .certs import write_self_signed
from .core import RequestRecord, SimCore
from .faults import Faults
from .server import SimHTTPServer, make_server
from .state import build_cluster, load_file


def load_cluster(state_file: Path | None, seed_file: Path | None) -> Any:
    """Existing state wins over the seed; the default cluster when neither is given."""
    if state_file is not None and state_file.exists():
        return build_cluster(load_file(state_file))
    if seed_file is not None:
        return build_cluster(load_file(seed_file))
    return build_cluster({})


class PveSim:
    """A Proxmox VE API simulator on https://HOST:PORT (port 0 = any free port)."""

    def __init__(
        self,
        token: str = "root@pam!reconciler=secret",
        task_seconds: float = 0.0,
        state_file: str | Path | None = None,
        seed_file: str | Path | None = None,
        faults: Faults | None = None,
        version: str = "8.3",
        password: str = "rootpw",
        host: str = "127.0.0.1",
        port: int = 0,
        cert_out: str | Path | None = None,
        compression: bool = True,
    ) -> None:
        tokenid, _, secret = token.partition("=")
        user, _, name = tokenid.partition("!")
        if not (user and name and secret):
            raise ValueError("token must look like 'user@realm!name=secret'")
        if version not in ("8.3", "9.0"):
            raise ValueError("version must be 8.3 or 9.0")
        self.token_user, self.token_name, self.token_secret = user, name, secret
        self.version = version
        self._state_file = Path(state_file) if state_file else None
        self._seed_file = Path(seed_file) if seed_file else None
        self._faults = faults or Faults()
        self._task_seconds = task_seconds
        self._password = password
        self._bind = (host, port)
        self._cert_out = Path(cert_out) if cert_out else None
        self._compression = compression
        self._tmp: Path | None = None
        self._server: SimHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.core: SimCore | None = None
        self.ca_file = ""

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> PveSim:
        """Generate the certificate, bind, and serve in a background thread."""
        self._tmp = Path(tempfile.mkdtemp(prefix="pvesim-"))
        cert = self._cert_out or self._tmp / "pvesim-ca.pem"
        key = self._tmp / "pvesim-key.pem"
        write_self_signed(cert, key, self._bind[0])
        self.ca_file = str(cert)
        auth = Authenticator(self.token_user, self.token_name, self.token_secret, self._password)
        cluster = load_cluster(self._state_file, self._seed_file)
        self.core = SimCore(
            cluster, auth, self._faults, self.version, self._task_seconds, self._state_file
        )
        self._server = make_server(
            self._bind[0], self._bind[1], self.core, cert, key, self._compression
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="pvesim",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections, remove the temporary key material."""
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def serve_forever(self) -> None:
        """Block the calling thread until stopped (used by the CLI)."""
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> PveSim:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------
    @property
    def host(self) -> str:
        """Bound host."""
        return self._bind[0]

    @property
    def port(self) -> int:
        """Bound port (the real one when 0 was asked)."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """`https://HOST:PORT`."""
        return f"https://{self.host}:{self.port}"

    # -- test helpers ------------------------------------------------------------------
    def _core(self) -> SimCore:
        if self.core is None:
            raise RuntimeError("simulator not started")
        return self.core

    def transport_stats(self) -> dict[str, int]:
        """Connections accepted and open, requests answered (also at GET /_sim/stats)."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        return self._server.stats()

    def requests(self) -> list[RequestRecord]:
        """The request log (method, path relative to /api2/json, params, status)."""
        return self._core().requests()

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._core().clear_requests()

    def set_faults(self, faults: Faults) -> None:
        """Change fault injection (reseeds the RNG)."""
        self._core().injector.set(faults)

    def state(self) -> dict[str, Any]:
        """The whole simulated cluster as JSON-able data."""
        return self._core().dump()

    def reset(self) -> None:
        """Back to the initial cluster; clears the request log."""
        self._core().reset()

    def api(self, user: str = "root@pam", timeout: int = 30, **kwargs: Any) -> Any:
        """A proxmoxer.ProxmoxAPI using the token, verifying TLS against `ca_file`."""
        from proxmoxer import ProxmoxAPI  # test helper only: the package itself never needs it

        return ProxmoxAPI(
            self.host,
            port=self.port,
            user=user,
            token_name=self.token_name,
            token_value=self.token_secret,
            verify_ssl=self.ca_file,
            timeout=timeout,
            **kwargs,
        )

    def api_password(self, password: str | None = None, timeout: int = 30) -> Any:
        """A proxmoxer.ProxmoxAPI logged in as root@pam with a ticket."""
        from proxmoxer import ProxmoxAPI

        return ProxmoxAPI(
            self.host,
            port=self.port,
            user="root@pam",
            password=password or self._password,
            verify_ssl=self.ca_file,
            timeout=timeout,
        )
