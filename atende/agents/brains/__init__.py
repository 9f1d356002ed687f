"""Brains behind one interface (`base.Brain`): `offline` now; `openai` comes with its client."""

from atende.agents.brains.base import Brain
from atende.agents.brains.offline import OfflineBrain
from atende.core.errors import Conflict

_OFFLINE = OfflineBrain()


def brain_for(name: str) -> Brain:
    if name == "offline":
        return _OFFLINE
    raise Conflict(
        f"The {name} brain is not available in this version yet; use the offline brain.",
        field="brain",
    )
