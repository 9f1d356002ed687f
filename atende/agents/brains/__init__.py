"""Brains behind one interface (`base.Brain`): `offline` (no network) and `openai`.

The `openai` brain is imported by its first use: the `openai` package is some 500 modules and
~40 MB of memory that a server answering with the offline brain never needs.
"""

from atende.agents.brains.base import Brain
from atende.agents.brains.offline import OfflineBrain
from atende.core.errors import Conflict
from atende.core.settings import Settings, get_settings

_OFFLINE = OfflineBrain()


def brain_for(name: str, settings: Settings | None = None) -> Brain:
    if name == "offline":
        return _OFFLINE
    if name == "openai":
        from atende.agents.brains.openai import OpenAIBrain

        settings = settings or get_settings()
        return OpenAIBrain(
            timeout=settings.llm_timeout_seconds, max_retries=settings.llm_max_retries
        )
    raise Conflict(f"There is no {name} brain.", field="brain")
