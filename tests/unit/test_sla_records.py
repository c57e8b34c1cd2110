"""records.positional_constructor builds what the dataclass constructor builds."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from schemas.events import Channel, ContactEvent, CustomerCategory, EventType, Kind
from streams.sla.clock import Outcome, Status
from streams.sla.records import positional_constructor
from streams.sla.state import ContactState

EVENT = ("e1", "c1", "t", "kursk", Channel.PHONE, EventType.QUEUED, 5, Kind.OUTAGE,
         CustomerCategory.VETERAN, "o", "a", "q", "tp", "cr", "rel", {"k": "v"})
STATE = ("c1", "t", "kursk", Channel.PHONE, Kind.OUTAGE, CustomerCategory.VETERAN, None,
         (ContactEvent(*EVENT),), ("odd",))
OUTCOME = ("c1", "phone.answer", Status.OPEN, 1, 40_001, None, 7, 40_000, (0.5,), "t", "kursk",
           "phone", "inquiry", "standard", "o", "answered", True, "24x7", 2, "own")


@pytest.mark.parametrize(("cls", "values"), [(ContactEvent, EVENT), (ContactState, STATE),
                                             (Outcome, OUTCOME)])
def test_same_object_as_the_dataclass_constructor(cls: type, values: tuple[Any, ...]) -> None:
    built = positional_constructor(cls)(*values)
    reference = cls(*values)
    assert type(built) is cls and built == reference and hash(built) == hash(reference)
    assert [getattr(built, f.name) for f in dataclasses.fields(cls)] == list(values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.contact_id = "other"
    with pytest.raises(TypeError):
        positional_constructor(cls)(*values[:-1])  # every field is required


def test_refuses_classes_it_cannot_build() -> None:
    @dataclasses.dataclass
    class NoSlots:
        a: int

    with pytest.raises(TypeError):
        positional_constructor(NoSlots)
