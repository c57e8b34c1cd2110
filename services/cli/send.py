"""`kontakt send FILE.ndjson`: post contact events to the ingest API in batches, with a
progress bar. Retries 503s (the API does not produce an event twice), stops on a 4xx."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from services.errors import UserError


def send(
    file: Annotated[Path, typer.Argument(help="NDJSON file, one event object a line.")],
    url: Annotated[
        str | None, typer.Option(help="API base URL; default http://<api_host>:<api_port>.")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(help="API key with the ingest scope; default $KONTAKT_API_KEY."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per request.")] = 10_000,
    partial: Annotated[
        bool, typer.Option(help="Let the API produce the valid events of a batch with errors.")
    ] = False,
) -> None:
    """Send the events of FILE (NDJSON) to the ingest API, with a progress bar."""
    from tqdm import tqdm

    from services.client import IngestRejected, IngestUnavailable, KontaktClient
    from services.settings import load_settings

    if not file.is_file():
        raise UserError(f"{file}: no such file")
    api_key = key or os.environ.get("KONTAKT_API_KEY")
    if not api_key:
        raise UserError(
            "no API key: pass --key or set KONTAKT_API_KEY "
            "(create one with `kontakt keys create --scope ingest`)"
        )
    if url is None:
        settings = load_settings()
        url = f"http://{settings.api_host}:{settings.api_port}"
    with file.open("rb") as fh:
        total = sum(1 for line in fh if line.strip())
    with (
        file.open("rb") as fh,
        KontaktClient(url, api_key) as client,
        tqdm(total=total, unit="ev", desc=file.name) as bar,
    ):
        try:
            totals = client.send_all(
                fh,
                batch_size=batch_size,
                partial=partial,
                on_batch=lambda n, _result: bar.update(n),
            )
        except IngestRejected as exc:
            raise UserError(
                f"the API refused a batch (nothing of it was produced): {exc}"
            ) from None
        except IngestUnavailable as exc:
            raise UserError(
                f"the API stayed unavailable: {exc}; run the command again "
                "(events already accepted are not produced twice)"
            ) from None
    typer.echo(
        f"accepted {totals.accepted}, duplicates {totals.duplicates}, rejected "
        f"{totals.rejected}, in {totals.requests} requests ({totals.retries} retries)"
    )


def register(app: typer.Typer) -> None:
    app.command("send")(send)
