"""`kontakt staffing plan`: the staffing plan of a day from the warehouse, as a table, CSV or
JSON -- the same plan as GET /v1/staffing/plan (docs/staffing.md)."""

from __future__ import annotations

import csv
import json
import sys
import time
from typing import Annotated, Any

import typer

from services.errors import UserError
from services.settings import load_settings

staffing_app = typer.Typer(help="Staffing ahead: forecast and agents per interval "
                                "(docs/staffing.md).")

#: Columns of the table view (the CSV and JSON carry every column).
_TABLE = (
    ("interval_start", "interval", 16), ("region", "region", 10), ("queue", "queue", 24),
    ("forecast_calls", "calls", 7), ("actual_calls", "actual", 7), ("aht_s", "AHT s", 6),
    ("agents_erlang_c", "Erl C", 6), ("agents_erlang_a", "Erl A", 6),
    ("agents_rostered", "roster", 6), ("expected_service_level", "SL", 6),
    ("expected_abandon_rate", "aband.", 6),
)


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float) and value <= 1.0 and width == 6:
        text = f"{value:.0%}" if value < 1.0 else "100%"
    else:
        text = str(value)
    return text[:width].rjust(width) if width <= 7 else text[:width].ljust(width)


def table(plan: dict[str, Any]) -> str:
    """The plan as a fixed-width table, the current interval marked with '>'."""
    lines = [" " + " ".join(_cell(title, width) for _, title, width in _TABLE)]
    for row in plan["rows"]:
        mark = ">" if row["current"] else " "
        cells = []
        for key, _, width in _TABLE:
            value = row[key]
            if key == "interval_start":
                value = str(value)[11:16] + "-" + str(row["interval_end"])[11:16]
            cells.append(_cell(value, width))
        lines.append(mark + " ".join(cells))
    head = (f"{plan['tenant']} {plan['date']}: {plan['interval_min']}-minute intervals, "
            f"{plan['target']:.0%} in {plan['threshold_s']:g} s, abandon <= "
            f"{plan['max_abandon']:.0%}, shrinkage {plan['shrinkage']:.0%} (as of "
            f"{plan['as_of']})")
    return "\n".join([head, *lines])


@staffing_app.command("plan")
def plan_command(
    tenant: Annotated[str, typer.Option(help="The tenant to plan for.")],
    region: Annotated[str | None, typer.Option(help="Region id (default: every region).")]
    = None,
    day: Annotated[str | None, typer.Option(
        "--date", help="The region's local day YYYY-MM-DD (default today; up to tomorrow).")]
    = None,
    interval: Annotated[int, typer.Option(help="Interval length: 15, 30 or 60 minutes.")] = 60,
    queue: Annotated[str | None, typer.Option(help="One queue (default: every queue).")]
    = None,
    at: Annotated[str | None, typer.Option(
        help="Plan as of this RFC 3339 instant (default now).")] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Forecast calls and handle time per interval, and the agents Erlang C and Erlang A need
    (the plan of GET /v1/staffing/plan)."""
    from services.analytics.filters import FilterError
    from services.staffing.history import WarehouseError
    from services.staffing.plan import COLUMNS
    from services.staffing.router import plan_for
    from services.warehouse import open_warehouse

    if output not in ("table", "csv", "json"):
        raise UserError("--format must be table, csv or json")
    settings = load_settings()
    warehouse = open_warehouse(settings)
    try:
        plan = plan_for(settings, warehouse, tenant, region=region, day_text=day,
                        minutes=interval, queue=queue, at=at, now_ms=int(time.time() * 1000))
    except WarehouseError as exc:
        raise UserError(f"the warehouse could not answer: {exc}") from None
    except (FilterError, ValueError) as exc:
        raise UserError(str(exc)) from None
    finally:
        warehouse.close()
    if output == "json":
        typer.echo(json.dumps(plan, ensure_ascii=False, indent=2))
    elif output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(plan["rows"])
    else:
        typer.echo(table(plan))


def register(app: typer.Typer) -> None:
    app.add_typer(staffing_app, name="staffing")
