"""Where the server is and which token to use: options, environment, config file.

The token never has to be typed on a command line (where ``ps`` and shell history would
show it). In order of precedence:

* the server URL: ``--url``, ``$LIVEBLOG_URL``, ``url`` in the config file, else
  ``http://127.0.0.1:8000``;
* the token: the file named by ``--token-file``, ``$LIVEBLOG_TOKEN``, ``token`` or
  ``token_file`` in the config file, else none (a reader).

The config file is TOML, ``$LIVEBLOG_CLIENT_CONFIG`` or
``$XDG_CONFIG_HOME/liveblog-client/config.toml`` (``~/.config/...`` by default)::

    url = "https://liveblog.example.org"
    token_file = "~/.secrets/liveblog-editor"   # or: token = "lb_..."
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from liveblog_client.connection import DEFAULT_URL
from liveblog_client.errors import LiveblogClientError

ENV_URL = "LIVEBLOG_URL"
ENV_TOKEN = "LIVEBLOG_TOKEN"
ENV_CONFIG = "LIVEBLOG_CLIENT_CONFIG"
CONFIG_KEYS = frozenset({"url", "token", "token_file"})


class ConfigError(LiveblogClientError):
    """A config file or token file that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """The resolved server ``url`` and ``token``; ``warnings`` for the person running the client."""

    url: str
    token: str | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()


def default_config_path(environ: Mapping[str, str]) -> Path:
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG]).expanduser()
    base = Path(environ["XDG_CONFIG_HOME"]) if environ.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "liveblog-client" / "config.toml"


def read_token_file(path: Path) -> str:
    """The token in ``path`` (surrounding white space removed)."""
    try:
        token = path.expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the token file {path}: {exc}") from exc
    if not token:
        raise ConfigError(f"the token file {path} is empty")
    return token


def _config_file(path: Path, required: bool) -> dict[str, str]:
    if not path.exists() and not required:
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}") from exc
    unknown = sorted(set(document) - CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: url, token, token_file")
    if not all(isinstance(value, str) for value in document.values()):
        raise ConfigError(f"{path}: url, token and token_file must be strings")
    return {key: str(value) for key, value in document.items()}


def _exposed(path: Path) -> bool:
    """Whether others than the owner may read ``path`` (POSIX permissions)."""
    try:
        return os.name == "posix" and bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False


def load_settings(
    *,
    url: str | None = None,
    token_file: Path | None = None,
    config_path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Resolve URL and token as described above. An explicit ``config_path`` must exist; the
    default one may be absent. Raises :class:`ConfigError` for an unusable file."""
    path = config_path or default_config_path(environ)
    configured = _config_file(path, required=config_path is not None)
    warnings: list[str] = []
    token: str | None
    if token_file is not None:
        token = read_token_file(token_file)
    elif environ.get(ENV_TOKEN):
        token = environ[ENV_TOKEN].strip()
    elif "token" in configured:
        token = configured["token"].strip()
        if _exposed(path):
            warnings.append(f"{path} holds a token and others may read it: chmod 600 {path}")
    elif "token_file" in configured:
        token = read_token_file(Path(configured["token_file"]))
    else:
        token = None
    resolved_url = url or environ.get(ENV_URL) or configured.get("url") or DEFAULT_URL
    return Settings(url=resolved_url, token=token or None, warnings=tuple(warnings))
