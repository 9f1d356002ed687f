"""Static assets under content-hashed names, cached for a year by browsers and kept in memory.

At start-up every asset is read once, hashed, and gzipped; the routes then answer from memory.
A changed file gets a new name, so the long `immutable` cache can never serve stale code. The
service worker (`/sw.js`) and the web app manifest keep stable URLs at the root and are
generated here, because they must list the hashed names of the current build.
"""

import gzip
import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

from atende.core.errors import NotFound

STATIC_DIR = Path(__file__).parent / "static"
REPO_ROOT = Path(__file__).resolve().parents[2]
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
GZIP_MIN_BYTES = 512

# logical name -> where the file comes from (own files, then npm packages, never copied)
OWN_FILES = (
    "app.css",
    "app.js",
    "inbox.css",
    "inbox.js",
    "thread.css",
    "thread.js",
    "icon.svg",
)
NPM_FILES = {
    "htmx.js": "htmx.org/dist/htmx.min.js",
    "sse.js": "htmx-ext-sse/dist/sse.min.js",
}
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


class AssetsMissing(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Asset:
    url: str
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _media_type(name: str) -> str:
    suffix = Path(name).suffix
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:12]


def _make_asset(url: str, name: str, body: bytes) -> Asset:
    squeezed = gzip.compress(body, compresslevel=9, mtime=0)
    gzipped = squeezed if len(body) >= GZIP_MIN_BYTES and len(squeezed) < len(body) else None
    return Asset(url, body, gzipped, _media_type(name), f'"{_digest(body)}"')


def find_node_modules() -> Path:
    for base in (REPO_ROOT, Path.cwd()):
        candidate = base / "node_modules"
        if all((candidate / rel).is_file() for rel in NPM_FILES.values()):
            return candidate
    raise AssetsMissing(
        "The front-end packages (htmx.org, htmx-ext-sse) are not installed in node_modules/. "
        "Run scripts/setup (it runs `npm ci`) from the repository root."
    )


class AssetManifest:
    """Logical names (`htmx.js`) -> hashed URLs (`/static/htmx.3f2a9c1b.js`) and their bytes."""

    def __init__(self, static_dir: Path = STATIC_DIR, node_modules: Path | None = None) -> None:
        node_modules = node_modules or find_node_modules()
        sources = {name: static_dir / name for name in OWN_FILES}
        sources.update({name: node_modules / rel for name, rel in NPM_FILES.items()})
        self._by_name: dict[str, Asset] = {}
        self._by_file: dict[str, Asset] = {}
        for name, path in sources.items():
            body = path.read_bytes()
            stem, dot, ext = name.rpartition(".")
            hashed = f"{stem}.{_digest(body)}{dot}{ext}"
            asset = _make_asset(f"/static/{hashed}", name, body)
            self._by_name[name] = asset
            self._by_file[hashed] = asset
        self.web_manifest = _make_asset(
            "/manifest.webmanifest", "x.webmanifest", self._web_manifest(static_dir)
        )
        self.service_worker = _make_asset("/sw.js", "sw.js", self._service_worker(static_dir))

    def url(self, name: str) -> str:
        return self._by_name[name].url

    def by_file(self, hashed_name: str) -> Asset | None:
        return self._by_file.get(hashed_name)

    @property
    def urls(self) -> list[str]:
        return [asset.url for asset in self._by_name.values()]

    def _web_manifest(self, static_dir: Path) -> bytes:
        manifest = json.loads((static_dir / "manifest.webmanifest").read_text())
        for icon in manifest.get("icons", []):
            icon["src"] = self.url(icon["src"])
        return json.dumps(manifest, ensure_ascii=False, indent=1).encode()

    def _service_worker(self, static_dir: Path) -> bytes:
        """The worker's code with the current build's asset list; a new build, a new worker."""
        precache = [*self.urls, "/offline"]
        version = _digest("\n".join(precache).encode())
        header = f"const CACHE = 'atende-{version}';\nconst PRECACHE = {json.dumps(precache)};\n"
        return header.encode() + (static_dir / "sw.js").read_bytes()


def asset_response(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {"Cache-Control": cache_control, "ETag": asset.etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    if asset.gzipped is not None and accepts_gzip:
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def asset_routes(manifest: AssetManifest) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/static/{filename}")
    async def static_file(filename: str, request: Request) -> Response:
        asset = manifest.by_file(filename)
        if asset is None:
            raise NotFound("No such file (the page may be older than the server: reload it).")
        return asset_response(request, asset, IMMUTABLE)

    @router.get("/sw.js")
    async def service_worker(request: Request) -> Response:
        return asset_response(request, manifest.service_worker, REVALIDATE)

    @router.get("/manifest.webmanifest")
    async def web_manifest(request: Request) -> Response:
        return asset_response(request, manifest.web_manifest, REVALIDATE)

    return router
