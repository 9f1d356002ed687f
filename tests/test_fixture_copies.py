"""The repository's provider fixtures are the shared originals, byte for byte."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def test_copies_match_the_shared_originals() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"the shared originals are not on this machine ({SHARED})")
    originals = sorted(p.relative_to(SHARED) for p in SHARED.rglob("*.json"))
    copies = sorted(p.relative_to(HERE) for p in HERE.rglob("*.json"))
    assert copies == originals
    for relative in originals:
        assert (HERE / relative).read_bytes() == (SHARED / relative).read_bytes(), relative
