"""The README's table of settings, generated from the `Settings` class."""

from atende.core.settings import Settings


def settings_markdown() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default in ("", None) else str(default)
        lines.append(f"| `ATENDE_{name.upper()}` | `{shown}` | {field.description} |")
    return "\n".join(lines)
