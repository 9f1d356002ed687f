"""Brains behind one interface (`base.Brain`): `offline` (no network) and `openai`."""

from atende.agents.brains.base import Brain
from atende.agents.brains.offline import OfflineBrain
from atende.agents.brains.openai import OpenAIBrain
from atende.core.errors import Conflict
from atende.core.settings import Settings, get_settings

_OFFLINE = OfflineBrain()


def brain_for(name: str, settings: Settings | None = None) -> Brain:
    if name == "offline":
        return _OFFLINE
    if name == "openai":
        settings = settings or get_settings()
        return OpenAIBrain(
            timeout=settings.llm_timeout_seconds, max_retries=settings.llm_max_retries
        )
    raise Conflict(f"There is no {name} brain.", field="brain")
