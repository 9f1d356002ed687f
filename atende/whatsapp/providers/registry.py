"""The provider adapters of one process, sharing one HTTP client."""

import httpx

from atende.core.errors import NotFound
from atende.whatsapp.providers.base import Provider
from atende.whatsapp.providers.cloud import CloudProvider
from atende.whatsapp.providers.evolution import EvolutionProvider
from atende.whatsapp.providers.sandbox import SandboxProvider

PROVIDER_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class Providers:
    def __init__(self, *, cloud_graph_url: str = "https://graph.facebook.com") -> None:
        self.http = httpx.AsyncClient(timeout=PROVIDER_TIMEOUT, follow_redirects=False)
        self._adapters: dict[str, Provider] = {
            "sandbox": SandboxProvider(),
            "evolution": EvolutionProvider(self.http),
            "cloud": CloudProvider(self.http, graph_base_url=cloud_graph_url),
        }

    def get(self, name: str) -> Provider:
        adapter = self._adapters.get(name)
        if adapter is None:
            raise NotFound(f"Unknown provider {name!r}.")
        return adapter

    async def aclose(self) -> None:
        await self.http.aclose()
