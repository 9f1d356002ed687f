"""A quick look at an agent's model server when it is saved: warn, never refuse.

The server may be down for a moment, or not started yet (a local Ollama), so saving still
succeeds; the person is told at once instead of learning it from a customer's unanswered
message. `GET {base_url}/models` is the cheapest call every OpenAI-compatible server answers.
"""

from typing import Literal

import openai

from atende.agents.brains.http_pool import shared_http_client
from atende.agents.brains.openai import DEFAULT_BASE_URL, NO_KEY
from atende.agents.service import AgentProfile

PROBE_SECONDS = 3.0

ModelServerWarning = Literal["unreachable", "refused_key"]


async def model_server_warning(
    *, brain: str, base_url: str, api_key: str | None
) -> ModelServerWarning | None:
    if brain != "openai":
        return None
    client = openai.AsyncOpenAI(
        api_key=api_key or NO_KEY,
        base_url=base_url or DEFAULT_BASE_URL,
        timeout=PROBE_SECONDS,
        max_retries=0,
        http_client=shared_http_client(),
    )
    client.organization = None
    client.project = None
    try:
        await client.models.list()
    except (openai.AuthenticationError, openai.PermissionDeniedError):
        return "refused_key"
    except openai.APIStatusError:
        return None  # it answered: some servers have no /models, but they are there
    except openai.APIError:  # connection refused, DNS, timeout, not HTTP at all
        return "unreachable"
    return None


async def saved_agent_warning(profile: AgentProfile) -> ModelServerWarning | None:
    return await model_server_warning(
        brain=profile.brain, base_url=profile.base_url, api_key=profile.api_key
    )


WARNING_TEXTS: dict[ModelServerWarning, str] = {
    "unreachable": "Saved, but the model server did not answer at {url}; check the base URL.",
    "refused_key": "Saved, but the model server at {url} refused the API key.",
}
