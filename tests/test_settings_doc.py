"""The README documents every setting exactly as the `Settings` class defines it."""

from pathlib import Path

from atende.core.settings import Settings
from atende.core.settings_doc import settings_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_contains_the_generated_settings_table() -> None:
    table = settings_markdown()
    assert table in README.read_text(encoding="utf-8"), (
        "README.md is out of date: replace its settings table with the output of "
        "`atende settings-table`"
    )


def test_the_table_lists_every_setting_with_a_description() -> None:
    table = settings_markdown()
    for name, field in Settings.model_fields.items():
        assert f"`ATENDE_{name.upper()}`" in table
        assert field.description, f"setting {name} needs a description"
    assert table.count("\n") == len(Settings.model_fields) + 1
