"""The case's dated clinical record for the PSA chart: measured PSA values and key events.

Facts from the case report (J Neurosurg 122, April 2015; see CASE.md); the labels are ours.
A scene's spread model may carry its own record (``psa_series`` / ``clinical_events``); these
are the case's, used for every scenario of it because the patient is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PsaValue:
    date: str  # YYYY-MM[-DD]
    value: float  # ng/ml; 0 = undetectable
    note: str = ""


@dataclass(frozen=True)
class ClinicalEvent:
    id: str
    date: str
    label: str
    short: str  # a few words under the mark
    side: str  # left | right | both: which leg the event concerns (colours the mark)


PSA = (
    PsaValue("2008-05", 6.4, "screening"),
    PsaValue("2009-08", 0.0, "undetectable"),
    PsaValue("2011-12", 0.54),
    PsaValue("2012-12", 1.2),
    PsaValue("2013-05", 2.04),
    PsaValue("2013-07", 0.5, "on hormonal therapy"),
    PsaValue("2014-02", 2.8),
    PsaValue("2014-04", 5.0),
)

EVENTS = (
    ClinicalEvent("left_symptoms", "2011-07", "First left-sided symptoms (summer 2011)",
                  "L symptoms", "left"),
    ClinicalEvent("mri_2012", "2012-03", "MRI: left sciatic, S1 and S2 enlarged and enhancing",
                  "MRI", "left"),
    ClinicalEvent("mri_2013", "2013-08", "MRI: enhancing mass in the sacral canal at S1-S2",
                  "MRI", "both"),
    ClinicalEvent("right_symptoms", "2013-11", "First right-sided symptoms", "R symptoms",
                  "right"),
    ClinicalEvent("presentation", "2014-04", "Presentation: bilateral lumbosacral plexopathy",
                  "Presentation", "both"),
    ClinicalEvent("biopsy", "2014-06", "Fascicular biopsy of the left sciatic nerve",
                  "Biopsy", "left"),
)


def record(spread: Any) -> tuple[tuple[PsaValue, ...], tuple[ClinicalEvent, ...]]:
    """The PSA values and events for a scene's spread (its own if it has them)."""
    psa = getattr(spread, "psa_series", None) or PSA
    events = getattr(spread, "clinical_events", None) or EVENTS
    return tuple(psa), tuple(events)
