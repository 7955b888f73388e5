"""Compiled templates on disk (Jinja2's bytecode cache), so that a new worker starts warm.

``Settings.template_cache`` chooses the folder: ``auto`` keeps one per app under
``$XDG_CACHE_HOME/kettle/templates/`` in production, a path is used as given in every
environment, ``off`` keeps nothing. Several workers may share a folder: Jinja2 writes each
file under a temporary name and renames it into place, so a reader sees a whole file or
none, and a file whose template changed since is recompiled (its source checksum differs).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from jinja2.bccache import Bucket

if TYPE_CHECKING:
    from kettle.app import App

log = logging.getLogger("kettle.templates")


def cache_folder(app: App) -> Path | None:
    """The folder ``app``'s compiled templates go to, or None when none is kept."""
    setting = app.settings.template_cache.strip()
    if setting.lower() in ("off", ""):
        return None
    if setting.lower() != "auto":
        return Path(setting).expanduser()
    if app.settings.env != "production":
        return None  # development and tests compile afresh: nothing left behind
    from kettle.settings import _cache_home

    # One folder per app and project: a name to recognise it, a hash to keep apart two
    # projects with apps of the same name.
    where = hashlib.sha256(str(Path(app.root).resolve()).encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", app.name)
    return _cache_home() / "templates" / f"{name}-{where}"


def bytecode_cache(app: App) -> jinja2.BytecodeCache | None:
    """A bytecode cache in ``cache_folder(app)``; None (with a warning) when the folder
    cannot be made: templates still render, compiled in memory at each start."""
    folder = cache_folder(app)
    if folder is None:
        return None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        log.warning(
            "Compiled templates are not kept: the folder %s cannot be created (%s). Set "
            "KETTLE_TEMPLATE_CACHE to a writable folder, or to 'off' to silence this.",
            folder,
            error.strerror or error,
        )
        return None
    return DiskBytecodeCache(str(folder))


def _flavour(env: jinja2.Environment) -> str:
    """What makes one environment compile a source differently from another."""
    autoescape: object = env.autoescape
    if callable(autoescape):
        # NOTE: a function's repr holds its address, new at each start: name it instead.
        autoescape = getattr(autoescape, "__qualname__", type(autoescape).__qualname__)
    return repr(
        (
            autoescape,
            env.block_start_string,
            env.block_end_string,
            env.variable_start_string,
            env.variable_end_string,
            env.comment_start_string,
            env.comment_end_string,
            env.line_statement_prefix,
            env.line_comment_prefix,
            env.trim_blocks,
            env.lstrip_blocks,
            env.newline_sequence,
            env.keep_trailing_newline,
            env.optimized,
            env.is_async,
            sorted(env.extensions),
        )
    )


class DiskBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja2's file cache, keyed also by how the environment compiles, and harmless when
    the disk is not.

    Jinja2 keys a compiled template by its name and file only, but autoescaping and the
    syntax options are compiled in: an HTML environment and its plain-text overlay (the
    auth e-mails) must not load each other's code. A file that cannot be read or written
    (a full disk, a folder removed) means compiling in memory, never a failed page.
    """

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        keyed = f"{name}\x00{_flavour(environment)}"
        return super().get_bucket(environment, keyed, filename, source)

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as error:
            log.debug("Compiled template %s not read: %s", bucket.key, error)
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as error:
            log.debug("Compiled template %s not written: %s", bucket.key, error)


__all__ = ["DiskBytecodeCache", "bytecode_cache", "cache_folder"]
