"""The repository's provider fixtures are the shared originals, byte for byte."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "fixtures"
# Next to the repository, or where this project's machines keep them.
CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared" / "fixtures",
    Path("/work/shared/fixtures"),
)


def test_copies_match_the_shared_originals() -> None:
    SHARED = next((path for path in CANDIDATES if path.is_dir()), None)
    if SHARED is None:
        pytest.skip(f"the shared originals are not on this machine ({CANDIDATES})")
    originals = sorted(p.relative_to(SHARED) for p in SHARED.rglob("*.json"))
    copies = sorted(p.relative_to(HERE) for p in HERE.rglob("*.json"))
    assert copies == originals
    for relative in originals:
        assert (HERE / relative).read_bytes() == (SHARED / relative).read_bytes(), relative
