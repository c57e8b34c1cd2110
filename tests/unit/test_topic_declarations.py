"""deploy/topics.toml: the one place topics are declared, read with the settings' defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.errors import UserError
from services.settings import load_settings
from services.topics import TopicOutcome, load_topics

REQUIRED = {"contact-events", "alerts", "metrics", "dead-letters", "acknowledgements"}


def test_the_declared_topics_include_the_required_ones() -> None:
    specs = {s.name: s for s in load_topics(load_settings())}
    assert set(specs) >= REQUIRED
    assert specs["contact-events"].key == "contact_id"
    for spec in specs.values():
        assert spec.description, spec.name


def test_topics_keyed_by_contact_id_stay_co_partitioned_with_contact_events() -> None:
    """Stream joins by contact_id need equal partition counts: such topics must take theirs
    from settings.topic_partitions, never a number of their own."""
    settings = load_settings(topic_partitions=5)
    keyed = [s for s in load_topics(settings) if s.key == "contact_id"]
    assert {"contact-events", "alerts", "acknowledgements"} <= {s.name for s in keyed}
    assert {s.partitions for s in keyed} == {5}


def test_appeal_events_stay_co_partitioned_with_contact_events() -> None:
    """Workers before emit_alone linked a customer-less contact in place, into the appeal
    table's partition of its events partition; those values stay co-located with their
    contacts (one worker holds both) only while the counts are equal."""
    settings = load_settings(topic_partitions=5)
    specs = {s.name: s for s in load_topics(settings)}
    assert specs["appeal-events"].partitions == specs["contact-events"].partitions == 5


def test_defaults_come_from_settings_and_explicit_values_win(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(
        '[a]\nkey = "k"\n\n[b]\npartitions = 2\ncleanup_policy = "compact"\nretention_ms = -1\n'
    )
    settings = load_settings(topic_partitions=7, topic_retention_ms=1234)
    a, b = load_topics(settings, path)
    assert (a.partitions, a.cleanup_policy, a.retention_ms) == (7, "delete", 1234)
    assert (b.partitions, b.cleanup_policy, b.retention_ms) == (2, "compact", -1)
    assert b.configs() == {"cleanup.policy": "compact", "retention.ms": "-1"}


@pytest.mark.parametrize(
    "body, words",
    [
        ("[a]\npartitons = 2\n", "unknown keys"),
        ("[a]\npartitions = 0\n", "positive integer"),
        ('[a]\ncleanup_policy = "forever"\n', "cleanup_policy"),
        ("[a]\nretention_ms = -5\n", "retention_ms"),
        ("[a\n", "cannot read"),
    ],
)
def test_a_mistake_in_the_file_is_one_clear_line(tmp_path: Path, body: str, words: str) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(body)
    with pytest.raises(UserError) as caught:
        load_topics(load_settings(), path)
    message = str(caught.value)
    assert words in message and "\n" not in message


def test_outcome_prints_as_one_line() -> None:
    assert str(TopicOutcome("kontakt.a", "created", 6)) == "kontakt.a: created (6 partitions)"
    line = str(TopicOutcome("kontakt.a", "exists", 2, ("partitions 2, declared 6",)))
    assert line == "kontakt.a: exists (2 partitions); differs from deploy/topics.toml: " + (
        "partitions 2, declared 6"
    )
