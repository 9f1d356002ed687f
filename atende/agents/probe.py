"""A quick look at an agent's model server when it is saved: warn, never refuse.

The server may be down for a moment, or not started yet (a local Ollama), so saving still
succeeds; the person is told at once instead of learning it from a customer's unanswered
message. `GET {base_url}/models` is the cheapest call every OpenAI-compatible server answers.
"""

from typing import Literal

from atende.agents.service import AgentProfile

PROBE_SECONDS = 3.0

ModelServerWarning = Literal["unreachable", "refused_key"]


async def model_server_warning(agent: AgentProfile) -> ModelServerWarning | None:
    if agent.brain != "openai":
        return None
    import openai

    from atende.agents.brains.openai import client_for

    client = client_for(agent, timeout=PROBE_SECONDS, max_retries=0)
    try:
        await client.models.list()
    except (openai.AuthenticationError, openai.PermissionDeniedError):
        return "refused_key"
    except openai.APIStatusError:
        return None  # it answered: some servers have no /models, but they are there
    except openai.APIError:  # connection refused, DNS, timeout, not HTTP at all
        return "unreachable"
    return None


WARNING_TEXTS: dict[ModelServerWarning, str] = {
    "unreachable": "Saved, but the model server did not answer at {url}; check the base URL.",
    "refused_key": "Saved, but the model server at {url} refused the API key.",
}
