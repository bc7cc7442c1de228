"""Development keys: generated once and kept in a folder, so a restart keeps them.

Only for running without the production secrets (`JWT_PRIVATE_KEY`, `ALTCHA_HMAC_KEY`).
Where the folder cannot be written (a read-only container filesystem), auth stops at
start with one line that names the missing variable, not a traceback."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from portal_shared.settings import ConfigurationError

log = logging.getLogger(__name__)


def kept_dev_key(key_dir: Path, file_name: str, generate: Callable[[], bytes], variable: str) -> bytes:
    """The key in `key_dir/file_name`, generated first when there is none."""
    path = key_dir / file_name
    try:
        if not path.exists():
            _write_once(path, generate(), variable)
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"portal-auth: configuration error: {variable} is not set, and no development key"
            f" can be kept in {key_dir} ({exc.strerror or exc}); set {variable}"
            " (in production it must be the same for every auth replica)"
        ) from None


def _write_once(path: Path, key: bytes, variable: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(key)
    try:
        os.link(draft, path)  # atomic: a second process starting now keeps the first key
    except FileExistsError:
        pass
    else:
        log.warning("generated a development key at %s; set %s in production", path, variable)
    finally:
        draft.unlink()
