"""The baseline of the intake benchmark: a bare ASGI endpoint that reads and parses the JSON
body and answers 200, under the same server (uvicorn, one process) as Atende."""

import json
from typing import Any


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    json.loads(b"".join(chunks))
    body = b'{"stored":1,"duplicates":0}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"27")],
        }
    )
    await send({"type": "http.response.body", "body": body})
