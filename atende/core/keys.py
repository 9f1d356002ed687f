"""The server's secret keys: from settings, or generated once into the data directory."""

import os
import secrets

from atende.core.settings import Settings


def load_secret_keys(settings: Settings) -> list[str]:
    if settings.secret_key:
        return [k.strip() for k in settings.secret_key.split(",") if k.strip()]
    path = settings.data_dir / "secret_key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return [path.read_text().strip()]
