"""Files kept under the data directory, content-addressed (media in and out)."""

import hashlib
import uuid
from pathlib import Path


def store_bytes(root: Path, data: bytes) -> str:
    """Writes `data` under `root`; returns its path relative to `root`, named by its SHA-256,
    so the same bytes stored twice (a retried delivery) are one file. Blocking: use a thread."""
    digest = hashlib.sha256(data).hexdigest()
    relative = Path(digest[:2]) / digest
    path = root / relative
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: two writers of the same bytes may meet here.
        temporary = path.with_suffix(f".{uuid.uuid4().hex}.part")
        temporary.write_bytes(data)
        temporary.replace(path)
    return str(relative)


def path_inside(root: Path, relative: str) -> Path | None:
    """`relative` resolved under `root`, or None if it would leave it (.., absolute, links)."""
    if not relative or "\x00" in relative:
        return None
    base = root.resolve()
    try:
        target = (base / relative).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return target if target != base and target.is_relative_to(base) else None
