"""``kettle openapi``: write an app's OpenAPI document, without serving it."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import click


@click.command()
@click.argument("target", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the document to this file (.json, or .yaml with PyYAML) instead of stdout.",
)
def openapi(target: str | None, output: Path | None) -> None:
    """Print the OpenAPI 3.1 document of TARGET (a file like app.py, or module:app) as
    JSON, or write it to --output. The same document /openapi.json serves::

        kettle openapi app.py -o openapi.json
    """
    import msgspec

    from kettle._loading import load_app, parse_target
    from kettle.openapi import openapi_of

    os.environ.setdefault("KETTLE_ENV", "development")
    app = load_app(parse_target(target))
    document = openapi_of(app).document()
    if output is not None and output.suffix in (".yaml", ".yml"):
        try:
            # NOTE: imported by name: PyYAML is optional and ships no type hints.
            yaml = importlib.import_module("yaml")
        except ImportError:
            raise click.UsageError(
                f"Writing {output} needs PyYAML (`pip install pyyaml`); or write JSON: "
                f"-o {output.with_suffix('.json')}."
            ) from None
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    else:
        text = msgspec.json.format(msgspec.json.encode(document), indent=2).decode() + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote the OpenAPI document of {app.name} to {output}.", err=True)


__all__ = ["openapi"]
