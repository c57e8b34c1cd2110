"""services/logs.py: the formats, the ids in play, and which request ids the API keeps."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re

import pytest

from services.api.app import valid_request_id
from services.logs import log_ids, logging_config
from services.settings import Settings, load_settings


def _emit(fmt: str, *, extra: dict[str, str] | None = None, **ids: str) -> str:
    stream = io.StringIO()
    config = logging_config(fmt)
    config["handlers"]["stderr"]["stream"] = stream
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logging.config.dictConfig(config)
        with log_ids(**ids):
            logging.getLogger("kontakt.test").warning("alert %s late", "a1", extra=extra)
    finally:
        root.handlers[:], root.level = saved
    return stream.getvalue()


def test_json_line_has_the_keys_and_the_ids_in_play() -> None:
    line = _emit("json", tenant="mrsk", contact_id="c1", extra={"alert_id": "a1"})
    record = json.loads(line)
    assert record["level"] == "WARNING" and record["logger"] == "kontakt.test"
    assert record["message"] == "alert a1 late"
    assert record["timestamp"].endswith("+00:00")
    assert (record["tenant"], record["contact_id"], record["alert_id"]) == ("mrsk", "c1", "a1")
    assert "ids" not in record and line.count("\n") == 1


def test_text_line_appends_the_ids() -> None:
    line = _emit("text", tenant="mrsk", contact_id="")
    assert line.rstrip().endswith("kontakt.test: alert a1 late tenant=mrsk")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}Z WARNING ", line), line


def test_text_timestamps_are_utc() -> None:
    from services.logs import UtcFormatter

    record = logging.LogRecord("x", logging.INFO, "", 0, "m", (), None)
    record.created, record.msecs = 1_790_000_000.5, 500.0  # 2026-09-21 14:13:20.5 UTC
    assert UtcFormatter("%(asctime)s").format(record) == "2026-09-21 14:13:20,500"


def test_ids_leave_with_their_block() -> None:
    with log_ids(tenant="t1"):
        pass
    assert "tenant" not in json.loads(_emit("json"))


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text or json"):
        logging_config("yaml")
    with pytest.raises(ValueError, match="log_format"):
        load_settings(log_format="yaml")
    assert Settings.model_fields["log_format"].default == "text"


@pytest.mark.parametrize(("value", "kept"), [
    ("probe-42", True), ("0b8f1c2e-5a1d-4c55-9b7e-0d6a2c8e1f00", True), ("a.b:c_d", True),
    ("", False), ("a b", False), ('x"y', False), ("x" * 129, False), ("строка", False),
])
def test_which_incoming_request_ids_are_kept(value: str, kept: bool) -> None:
    assert valid_request_id(value) is kept
