"""Serve a directory of files, refusing every path that leads out of it."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import stat
from urllib.parse import quote, unquote

from kettle._types import Receive, Scope, Send
from kettle.responses.base import PlainTextResponse, RedirectResponse, Response
from kettle.responses.file import FileResponse

_NOT_FOUND = PlainTextResponse("Not Found", status=404)
_NOT_ALLOWED = PlainTextResponse("Method Not Allowed", status=405, headers={"allow": "GET, HEAD"})


class StaticFiles:
    """An ASGI app that serves the files under ``directory``.

    Mount it under a prefix; the request path left after the prefix names the file.
    Anything that would leave the directory (``..``, encoded dots, backslashes, NUL
    bytes, drive letters, symlinks pointing outside) is a plain 404. With ``html=True``
    a directory serves its ``index.html`` and ``/docs`` redirects to ``/docs/``::

        app.mount("/static", StaticFiles("static"))
        app.mount("/", StaticFiles("site", html=True))

    Symlinks whose target stays inside the directory are always served; set
    ``follow_symlinks=True`` to also serve those that point elsewhere.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        html: bool = False,
        follow_symlinks: bool = False,
        cache_control: str | None = "public, max-age=3600",
        check_dir: bool = True,
    ) -> None:
        self.directory = os.fspath(directory)
        self.html = html
        self.follow_symlinks = follow_symlinks
        self.cache_control = cache_control
        if check_dir and not os.path.isdir(self.directory):
            raise RuntimeError(
                f"StaticFiles directory {self.directory!r} does not exist "
                f"(looked in {os.path.abspath(self.directory)!r}). Create it, fix the path, "
                "or pass check_dir=False if it is created after start-up."
            )
        self._root: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})
            return
        if scope["type"] != "http":
            raise RuntimeError(f"StaticFiles cannot handle {scope['type']!r} connections.")
        response = await self._respond(scope)
        await response(scope, receive, send)

    async def _respond(self, scope: Scope) -> Response:
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            return _NOT_ALLOWED
        path: str = scope.get("path", "")
        parts = _safe_parts(path, scope.get("raw_path"))
        if parts is None:
            return _NOT_FOUND
        # PERF: realpath and stat touch the disk (maybe a network share); keep the loop free.
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, self._lookup, parts)
        if found is None:
            return _NOT_FOUND
        real, st = found
        name = parts[-1] if parts else ""
        if stat.S_ISDIR(st.st_mode):
            if not self.html:
                return _NOT_FOUND
            if not path.endswith("/"):
                return self._redirect_to_dir(scope)
            index = await loop.run_in_executor(None, self._lookup, [*parts, "index.html"])
            if index is None or not stat.S_ISREG(index[1].st_mode):
                return _NOT_FOUND
            (real, st), name = index, "index.html"
        elif path.endswith("/") or not stat.S_ISREG(st.st_mode):
            # NOTE: FIFOs and devices would hang or leak a worker thread; only plain files.
            return _NOT_FOUND
        headers = {"cache-control": self.cache_control} if self.cache_control else None
        # The media type follows the requested name, not the target of a symlink.
        media_type = mimetypes.guess_type(name)[0]
        return FileResponse(real, headers=headers, media_type=media_type, stat_result=st)

    def _lookup(self, parts: list[str]) -> tuple[str, os.stat_result] | None:
        root = self._root
        if root is None:
            root = os.path.realpath(self.directory)
            if os.path.isdir(root):
                # PERF: resolved once, as soon as it exists (check_dir=False may defer that).
                self._root = root
        candidate = os.path.join(root, *parts)
        real = os.path.realpath(candidate)
        inside = real == root or real.startswith(root.rstrip(os.sep) + os.sep)
        # Only a symlink can lead outside: the parts themselves were checked for "..".
        if not inside and not self.follow_symlinks:
            return None
        try:
            return real, os.stat(real)
        except (OSError, ValueError):
            return None

    def _redirect_to_dir(self, scope: Scope) -> Response:
        url = quote(scope.get("root_path", "") + scope["path"], safe="/") + "/"
        query = scope.get("query_string", b"")
        if query:
            url += "?" + query.decode("latin-1")
        return RedirectResponse(url, status=307)


def _safe_parts(path: str, raw_path: bytes | None) -> list[str] | None:
    """The path segments under the root, or None if the path could point anywhere else."""
    if not path.startswith("/"):
        return [] if path == "" else None
    parts = path[1:].split("/")
    if parts[-1] == "":
        parts.pop()  # a trailing slash names a directory
    if not all(map(_safe_segment, parts)):
        return None
    if raw_path is not None:
        # NOTE: servers decode %2e and %2f before filling "path"; a proxy in front may
        # already have decoded once too. Refuse raw paths that decode to traversal at all.
        raw = raw_path.decode("latin-1")
        for _ in range(3):
            decoded = unquote(raw)
            if decoded == raw:
                break
            raw = decoded
        if not all(map(_safe_raw_segment, raw.split("/"))):
            return None
    return parts


def _safe_segment(part: str) -> bool:
    # NOTE: ":" is refused everywhere: on Windows it starts a drive ("C:") or an
    # alternate data stream ("file:stream"); the same URL must mean the same on every OS.
    return part not in ("", ".", "..") and not any(c in part for c in "\\\x00:")


def _safe_raw_segment(part: str) -> bool:
    return part not in (".", "..") and not any(c in part for c in "\\\x00")


__all__ = ["StaticFiles"]
