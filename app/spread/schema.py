"""Scene-file ``scenario`` and ``timeline`` sections -> :class:`Spread`, validated once.

Format (every date is ``YYYY-MM`` = first of the month, or ``YYYY-MM-DD``)::

    scenario:
      seed: prostate_bed              # landmark name or [x, y, z] where the spread starts
      seed_label: Prostate bed        # optional
      lead_time: 2.0                  # optional: seconds of bright leading edge on nerves
      legend:                         # what each arrow style its routes draw means (required)
        solid: ipsilateral perineural spread
        dashed: dural bridge
      routes:
        - id: left_pelvic             # unique snake_case id
          label: Along the left pelvic splanchnic nerves
          style: solid                # solid (ipsilateral perineural) | dashed (dural bridge)
          start: 2009-09              # the front leaves the first segment's start
          end: 2011-01                # reaches the last segment's end (or speed_mm_per_month,
                                      #   or 'reach' on the last segment)
          easing: linear              # optional: linear | ease_in | ease_out | smooth
          offset: [0, 0, 0]           # optional extra arrow shift, mm
          arrow: true                 # optional: false = involvement only, no arrow
          segments:
            - point: prostate_bed     # a waypoint: landmark name or [x, y, z]
            - node: inferior_hypogastric_plexus_l
              from: prostate_bed      # fraction 0..1 | landmark | node id (closest approach)
              to: pelvic_splanchnic_l
              reach: 2010-03          # optional: the front reaches this segment's end then
            - node: dural_sac
              at: sacral_canal_s1_s2  # a single point of a node
      masses:
        - id: sacral_canal_mass
          label: Sacral-canal mass
          at: sacral_canal_s1_s2      # landmark name or [x, y, z]
          growth: [{date: 2012-03, radius: 0}, {date: 2013-08, radius: 7}]   # radius in mm
    timeline:
      keyframes:                      # animation seconds <-> dates, both strictly increasing
        - {time: 0, date: 2008-05}
        - {time: 12, date: 2011-06}
      record:                         # optional: the clinical record (no chart without it)
        marker: PSA                   # optional: the tumour marker's name (default PSA)
        unit: ng/ml                   # optional (default ng/ml)
        values:                       # in date order; 0 = undetectable
          - {date: 2008-05, value: 6.4, note: screening}
        events:                       # marks under the timeline
          - {id: mri_2012, date: 2012-03, label: "MRI: ...", short: MRI, side: left}
      findings:                       # optional: imaging findings, marks that set date and slab
        - id: mri_2012_s1
          date: 2012-03
          modality: MRI               # MRI | PET
          slab: axial:S1              # a slab (app.model.slab): level, or axis=mm, thickness
          enlarged: [ramus_s1_l]      # optional: node ids seen enlarged
          enhancing: [ramus_s1_l]     # optional: node ids seen enhancing (PET: uptake)
          figure: Fig. 3A             # optional: the paper's figure it rests on
          text: Our own words.
      slab_presets:                   # optional: slab buttons in the viewer
        - {id: fig3_s1, label: "Fig. 3: axial at S1", slab: axial:S1}
      stages:                         # in date order, not overlapping
        - id: diagnosis
          title: Diagnosis
          start: 2008-05
          end: 2008-08                # optional: defaults to the next stage's start
          source: Fig. 1              # optional: the paper's figure or video
          caption: Our own words.

A segment's ``from`` defaults to the point nearest the previous segment's end (0 for the
first), its ``to`` to the far end of the node. Fractions follow the centreline, proximal (0) to
distal (1); from > to runs proximally.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from app.model.scene import Scene
from app.model.slab import SlabError, parse_slab
from app.model.yamlio import Field, Invalid, describe
from app.spread.calendar import DATE_FORMS, Keyframes, SpreadTimeError, format_day, parse_day
from app.spread.easing import EASINGS
from app.spread.model import (
    MODALITIES,
    ClinicalEvent,
    Finding,
    LegendEntry,
    MarkerValue,
    Mass,
    Record,
    SlabPreset,
    Spread,
    Stage,
)
from app.spread.routes import STYLES, Piece, Route, closest_u, join_pieces, nearest_u, subpath

ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
SCENARIO_KEYS = ("seed", "seed_label", "lead_time", "legend", "routes", "masses")
LEGEND_STYLES = ("solid", "dashed")
ROUTE_KEYS = ("id", "label", "style", "start", "end", "speed_mm_per_month", "easing", "offset",
              "arrow", "segments")
SEGMENT_KEYS = ("node", "from", "to", "at", "point", "reach")
MASS_KEYS = ("id", "label", "at", "growth")
GROWTH_KEYS = ("date", "radius")
TIMELINE_KEYS = ("keyframes", "record", "stages", "findings", "slab_presets")
FINDING_KEYS = ("id", "date", "modality", "slab", "enlarged", "enhancing", "figure", "text")
PRESET_KEYS = ("id", "label", "slab")
RECORD_KEYS = ("marker", "unit", "values", "events")
VALUE_KEYS = ("date", "value", "note")
EVENT_KEYS = ("id", "date", "label", "short", "side")
EVENT_SIDES = ("left", "right", "both", "none")
KEYFRAME_KEYS = ("time", "date")
STAGE_KEYS = ("id", "title", "start", "end", "source", "caption")
DAYS_PER_MONTH = 365.25 / 12
NEAR_MM = 50.0  # a landmark or node named as a fraction must come this close to the nerve


def parse_spread(scenario: Field | None, timeline: Field | None, scene: Scene) -> Spread:
    """Validate the two sections against the scene; report through the Fields, raise Invalid."""
    if timeline is None:
        assert scenario is not None
        raise scenario.fail("a scenario needs a top-level 'timeline' with 'keyframes' "
                            "(animation seconds <-> dates)")
    keyframes, stages = _timeline(timeline)
    nerves = scene.nerves()
    ctx = _Context(scene, nerves, keyframes)
    record = Record()
    if timeline.has("record"):
        try:
            record = _record(timeline.get("record"), ctx)
        except Invalid:
            pass
    findings: tuple[Finding, ...] = ()
    if timeline.has("findings"):
        findings = _findings(timeline.get("findings"), ctx)
    presets: tuple[SlabPreset, ...] = ()
    if timeline.has("slab_presets"):
        presets = _slab_presets(timeline.get("slab_presets"), ctx)
    routes: list[Route] = []
    masses: list[Mass] = []
    seed = None
    seed_label = ""
    lead_time = 2.0
    legend: tuple[LegendEntry, ...] = ()
    if scenario is not None:
        scenario.expect_map("a mapping with 'routes' (and 'seed', 'masses')")
        scenario.check_keys(SCENARIO_KEYS)
        if scenario.has("seed"):
            try:
                seed = tuple(ctx.place(scenario.get("seed")))
            except Invalid:
                pass
        seed_label = scenario.opt("seed_label", Field.as_str, "")
        lead_time = scenario.opt("lead_time", lambda f: f.as_float(positive=True), 2.0)
        routes = _routes(scenario.get("routes"), ctx)
        legend = _legend(scenario, routes)
        if scenario.has("masses"):
            masses = _masses(scenario.get("masses"), ctx)
    return Spread(
        keyframes=keyframes, routes=tuple(routes), stages=tuple(stages), masses=tuple(masses),
        centrelines={nid: p.centreline for nid, p in nerves.items()}, seed=seed,  # type: ignore
        seed_label=seed_label, lead_time=lead_time, legend=legend, record=record,
        findings=findings, slab_presets=presets)


class _Context:
    def __init__(self, scene: Scene, nerves: dict[str, Any], keyframes: Keyframes):
        self.scene = scene
        self.nerves = nerves
        self.keyframes = keyframes

    def day(self, f: Field, what: str = "date") -> float:
        value = f.value
        try:
            day = parse_day(value)
        except SpreadTimeError:
            raise f.fail(f"expected {DATE_FORMS}, got {_show(value)}") from None
        first, last = self.keyframes.first_day, self.keyframes.last_day
        if not first <= day <= last:
            raise f.fail(f"{what} {format_day(day)} is outside the timeline "
                         f"({format_day(first)} to {format_day(last)})")
        return day

    def any_day(self, f: Field) -> float:
        """A date that may lie outside the animated timeline (a record can start earlier)."""
        try:
            return parse_day(f.value)
        except SpreadTimeError:
            raise f.fail(f"expected {DATE_FORMS}, got {_show(f.value)}") from None

    def place(self, f: Field) -> np.ndarray:
        """A landmark name or [x, y, z] -> point (mm)."""
        if isinstance(f.value, str):
            if f.value not in self.scene.landmarks:
                raise f.fail(f"unknown landmark '{f.value}' (known: "
                             f"{', '.join(sorted(self.scene.landmarks)) or 'none'})")
            return np.asarray(self.scene.landmarks[f.value], float)
        return np.asarray(f.as_vec3(), float)

    def fraction(self, f: Field, node: str) -> float:
        """A fraction along ``node``: a number, a landmark, or another node (closest approach)."""
        value = f.value
        line = self.nerves[node].centreline
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f.as_float(0.0, 1.0)
        if isinstance(value, str):
            if value in self.scene.landmarks:
                u, d = nearest_u(line, np.asarray(self.scene.landmarks[value], float))
                what = f"landmark '{value}'"
            elif value in self.nerves:
                if value == node:
                    raise f.fail(f"'{value}' is the segment's own node; give a fraction 0..1")
                u, d = closest_u(line, self.nerves[value].centreline)
                what = f"node '{value}'"
            else:
                raise f.fail(f"expected a fraction 0..1, a landmark or a node with a centreline, "
                             f"got '{value}'")
            if d > NEAR_MM:
                raise f.fail(f"{what} is {d:.0f} mm from '{node}' (more than {NEAR_MM:.0f} mm): "
                             "is that the right name?")
            return u
        raise f.fail(f"expected a fraction 0..1, a landmark or a node id, got {_show(value)}")


def _show(value: Any) -> str:
    """A value in a message, short whatever it is (an alias bomb's repr is gigabytes)."""
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"
    if isinstance(value, (list, dict)):
        return describe(value)
    return repr(value)


def _legend(scenario: Field, routes: list[Route]) -> tuple[LegendEntry, ...]:
    """One entry per arrow style the routes draw, in the order solid, dashed: every picture's
    legend (page, still, clip, screenshot, player) reads these and nothing else."""
    texts: dict[str, str] = {}
    f = scenario.get("legend", None) if scenario.has("legend") else None
    if f is not None:
        try:
            f.expect_map("a mapping {solid: TEXT, dashed: TEXT}")
            f.check_keys(LEGEND_STYLES)
            for style in LEGEND_STYLES:
                text = f.opt(style, Field.as_str, None)
                if text is not None:
                    texts[style] = text
        except Invalid:
            return ()
    drawn = [st for st in LEGEND_STYLES if any(r.style == st and r.arrow for r in routes)]
    missing = [st for st in drawn if st not in texts]
    if missing:
        where = f if f is not None else scenario
        where.error(f"{'legend: ' if f is None else ''}no text for the arrow style(s) "
                    f"{', '.join(missing)} that this scenario's routes draw (add "
                    f"'legend: {{{missing[0]}: WHAT IT MEANS}}' to the scenario)")
    return tuple(LegendEntry(st, texts[st]) for st in drawn if st in texts)


def _record(f: Field, ctx: _Context) -> Record:
    """The clinical record: tumour-marker values and dated events."""
    f.expect_map("a mapping {marker, unit, values, events}")
    f.check_keys(RECORD_KEYS)
    marker = f.opt("marker", Field.as_str, "PSA")
    unit = f.opt("unit", Field.as_str, "ng/ml")
    values: list[MarkerValue] = []
    if f.has("values"):
        for item in f.get("values").elements("a list of {date, value, note}"):
            try:
                item.expect_map("{date: YYYY-MM[-DD], value: NUMBER, note: TEXT}")
                item.check_keys(VALUE_KEYS)
                day = ctx.any_day(item.get("date"))
                if values and day <= values[-1].day:
                    raise item.get("date").fail(
                        f"values go in date order (previous {values[-1].date})")
                values.append(MarkerValue(
                    str(item.get("date").value), day, item.get("value").as_float(lo=0.0),
                    item.opt("note", Field.as_str, "")))
            except Invalid:
                continue
    events: list[ClinicalEvent] = []
    seen: set[str] = set()
    if f.has("events"):
        for item in f.get("events").elements("a list of {id, date, label, short, side}"):
            try:
                item.expect_map("an event: {id, date, label, short, side}")
                item.check_keys(EVENT_KEYS)
                eid = item.get("id").as_str(ID_RE, "a snake_case id")
                if eid in seen:
                    raise item.get("id").fail(f"duplicate event id '{eid}'")
                seen.add(eid)
                day = ctx.any_day(item.get("date"))
                label = item.get("label").as_str()
                events.append(ClinicalEvent(
                    eid, str(item.get("date").value), day, label,
                    item.opt("short", Field.as_str, label[:16]),
                    item.opt("side", lambda x: x.as_choice(EVENT_SIDES), "none")))
            except Invalid:
                continue
    events.sort(key=lambda e: e.day)
    return Record(marker, unit, tuple(values), tuple(events))


def _slab_text(f: Field, ctx: _Context) -> str:
    """A slab text that places in this scene (its levels need the scene's landmarks)."""
    text = f.as_str()
    try:
        parse_slab(text, ctx.scene.landmarks)
    except SlabError as exc:
        raise f.fail(str(exc)) from None
    return text


def _node_ids(f: Field, ctx: _Context) -> tuple[str, ...]:
    ids = []
    for item in f.elements("a list of node ids"):
        nid = item.as_str()
        if nid not in ctx.scene.nodes:
            item.error(f"unknown node '{nid}' (see 'pelvic-spread info' for the ids)")
            continue
        ids.append(nid)
    return tuple(ids)


def _findings(f: Field, ctx: _Context) -> tuple[Finding, ...]:
    """Imaging findings: dated, on a slab, naming the nerves seen enlarged or enhancing."""
    out: list[Finding] = []
    seen: set[str] = set()
    for item in f.elements("a list of findings {id, date, modality, slab, text, ...}"):
        try:
            item.expect_map("a finding: {id, date, modality, slab, enlarged, enhancing, figure, "
                            "text}")
            item.check_keys(FINDING_KEYS)
            fid = item.get("id").as_str(ID_RE, "a snake_case id")
            if fid in seen:
                raise item.get("id").fail(f"duplicate finding id '{fid}'")
            seen.add(fid)
            day = ctx.day(item.get("date"), "finding date")
            out.append(Finding(
                fid, str(item.get("date").value), day,
                item.get("modality").as_choice(MODALITIES),
                _slab_text(item.get("slab"), ctx),
                item.get("text").as_str(),
                item.opt("figure", Field.as_str, ""),
                item.opt("enlarged", lambda x: _node_ids(x, ctx), ()),
                item.opt("enhancing", lambda x: _node_ids(x, ctx), ())))
        except Invalid:
            continue
    out.sort(key=lambda fd: fd.day)
    return tuple(out)


def _slab_presets(f: Field, ctx: _Context) -> tuple[SlabPreset, ...]:
    out: list[SlabPreset] = []
    seen: set[str] = set()
    for item in f.elements("a list of {id, label, slab}"):
        try:
            item.expect_map("a slab preset: {id, label, slab}")
            item.check_keys(PRESET_KEYS)
            pid = item.get("id").as_str(ID_RE, "a snake_case id")
            if pid in seen:
                raise item.get("id").fail(f"duplicate slab preset id '{pid}'")
            seen.add(pid)
            out.append(SlabPreset(pid, item.get("label").as_str(),
                                  _slab_text(item.get("slab"), ctx)))
        except Invalid:
            continue
    return tuple(out)


# -- timeline ---------------------------------------------------------------------------------
def _timeline(f: Field) -> tuple[Keyframes, list[Stage]]:
    f.expect_map("a mapping with 'keyframes' and 'stages'")
    f.check_keys(TIMELINE_KEYS)
    kf = f.get("keyframes")
    times: list[float] = []
    days: list[float] = []
    ok = True
    for item in kf.elements("a list of {time: SECONDS, date: YYYY-MM[-DD]}"):
        try:
            item.expect_map("{time: SECONDS, date: YYYY-MM[-DD]}")
            item.check_keys(KEYFRAME_KEYS)
            t = item.get("time").as_float(lo=0.0)
            df = item.get("date")
            try:
                d = parse_day(df.value)
            except SpreadTimeError:
                raise df.fail(f"expected {DATE_FORMS}, got {_show(df.value)}") from None
            if times and t <= times[-1]:
                raise item.get("time").fail(
                    f"keyframe times must increase (previous {times[-1]:g})")
            if days and d <= days[-1]:
                raise df.fail(f"keyframe dates must increase (previous {format_day(days[-1])})")
            times.append(t)
            days.append(d)
        except Invalid:
            ok = False
    if ok and len(times) < 2:
        raise kf.fail(f"need at least 2 keyframes, got {len(times)}")
    if not ok:
        raise Invalid("keyframes")
    if times[0] != 0.0:
        raise kf.fail(f"the first keyframe must be at time 0, got {times[0]:g}")
    keyframes = Keyframes(tuple(times), tuple(days))
    stages = _stages(f.get("stages"), keyframes) if f.has("stages") else []
    return keyframes, stages


def _stages(f: Field, keyframes: Keyframes) -> list[Stage]:
    raw: list[tuple[Field, dict[str, Any]]] = []
    seen: set[str] = set()
    ctx = _Context.__new__(_Context)
    ctx.keyframes = keyframes
    for item in f.elements("a list of stages"):
        try:
            item.expect_map("a stage: {id, title, start, caption, ...}")
            if item.has("psa"):
                item.error("stages carry no 'psa': marker values live in timeline.record.values, "
                           "and each picture shows the latest one measured by its date",
                           line=item.key_line("psa"))
            item.check_keys(STAGE_KEYS + ("psa",))
            sid = item.get("id").as_str(ID_RE, "a snake_case id")
            if sid in seen:
                raise item.get("id").fail(f"duplicate stage id '{sid}'")
            seen.add(sid)
            entry = dict(
                id=sid, title=item.get("title").as_str(), caption=item.get("caption").as_str(),
                start_day=ctx.day(item.get("start"), "start"),
                end_day=ctx.day(item.get("end"), "end") if item.has("end") else None,
                source=item.opt("source", Field.as_str, ""))
            raw.append((item, entry))
        except Invalid:
            continue
    # in date order (an extending scene's new stages arrive after the case's)
    raw.sort(key=lambda pair: pair[1]["start_day"])
    stages = []
    for i, (item, e) in enumerate(raw):
        nxt = raw[i + 1][1]["start_day"] if i + 1 < len(raw) else keyframes.last_day
        end = e["end_day"] if e["end_day"] is not None else nxt
        if i > 0 and e["start_day"] < stages[-1].end_day:
            item.get("start").error(f"stage starts before the previous stage ends "
                                    f"({stages[-1].end}); stages go in date order")
        if end <= e["start_day"]:
            item.error("stage must end after it starts")
        e["end_day"] = end
        stages.append(Stage(**e))
    return stages


# -- routes -----------------------------------------------------------------------------------
def _routes(f: Field, ctx: _Context) -> list[Route]:
    routes: list[Route] = []
    seen: set[str] = set()
    for item in f.elements("a list of routes"):
        try:
            route = _route(item, ctx)
        except Invalid:
            continue
        if route.id in seen:
            item.get("id").error(f"duplicate route id '{route.id}'")
            continue
        seen.add(route.id)
        routes.append(route)
    return routes


def _route(f: Field, ctx: _Context) -> Route:
    f.expect_map("a route: {id, style, start, segments, ...}")
    f.check_keys(ROUTE_KEYS)
    failed = False

    def attempt(fn):
        nonlocal failed
        try:
            return fn()
        except Invalid:
            failed = True
            return None

    # parse every part, so that one bad value does not hide the others
    rid = attempt(lambda: f.get("id").as_str(ID_RE, "a snake_case id"))
    style = attempt(lambda: f.get("style").as_choice(STYLES))
    start = attempt(lambda: ctx.day(f.get("start"), "start"))
    pieces = attempt(lambda: _pieces(f.get("segments"), ctx))
    easing = f.opt("easing", lambda x: x.as_choice(tuple(EASINGS)), "linear")
    offset = f.opt("offset", Field.as_vec3, (0.0, 0.0, 0.0))
    if failed:
        raise Invalid("route")
    path, s, radius, coverage, ends = join_pieces(pieces)
    total = float(s[-1])
    if total <= 0:
        raise f.get("segments").fail("the route has zero length")
    knot_days = [start]
    knot_s = [0.0]
    seg_fields = list(f.get("segments").elements())
    for piece, end_s, sf in zip(pieces, ends, seg_fields, strict=True):
        if piece.reach_day is None:
            continue
        if piece.reach_day <= knot_days[-1]:
            raise sf.get("reach").fail(
                f"reach {format_day(piece.reach_day)} must come after {format_day(knot_days[-1])}"
                " (the route's start or the previous reach)")
        knot_days.append(piece.reach_day)
        knot_s.append(end_s)
    timing = [k for k in ("end", "speed_mm_per_month") if f.has(k)]
    if len(timing) > 1:
        raise f.fail("give either 'end' or 'speed_mm_per_month', not both")
    if knot_s[-1] < total:
        if not timing:
            raise f.fail("the route needs its timing: 'end' (a date), 'speed_mm_per_month', or "
                         "'reach' on its last segment")
        if timing[0] == "end":
            end = ctx.day(f.get("end"), "end")
        else:
            speed = f.get("speed_mm_per_month").as_float(positive=True)
            end = knot_days[-1] + (total - knot_s[-1]) / speed * DAYS_PER_MONTH
            if end > ctx.keyframes.last_day:
                raise f.get("speed_mm_per_month").fail(
                    f"at {speed:g} mm/month the front ends on {format_day(end)}, after the "
                    f"timeline ends ({format_day(ctx.keyframes.last_day)})")
        if end <= knot_days[-1]:
            raise f.get(timing[0]).fail(f"the route must end after {format_day(knot_days[-1])}")
        knot_days.append(end)
        knot_s.append(total)
    elif timing:
        raise f.get(timing[0]).fail("the last segment's 'reach' already sets when the route ends")
    if style == "dashed" and not _meets_meninges(path, ctx):
        f.get("style").error(
            "a dashed route is a bridge through the dural sac, but this one never meets it: "
            "give it a segment on 'dural_sac' (or a node inside it), or make it solid")
    return Route(
        id=rid, label=f.opt("label", Field.as_str, rid.replace("_", " ")), style=style,
        path=path, s=s, radius=radius, coverage=tuple(coverage), knot_days=tuple(knot_days),
        knot_s=tuple(knot_s), easing=easing, offset=offset,
        arrow=f.opt("arrow", Field.as_bool, True))


def _meets_meninges(path: np.ndarray, ctx: _Context) -> bool:
    """Whether a route's path runs inside a node of the meninges (the dural sac)."""
    for nid, nerve in ctx.nerves.items():
        node = ctx.scene.nodes.get(nid)
        if node is None or "meninges" not in node.systems:
            continue
        line = np.asarray(nerve.centreline, float)
        if closest_u(path, line)[1] <= float(nerve.radius) + 1.0:
            return True
    return False


def _pieces(f: Field, ctx: _Context) -> list[Piece]:
    pieces: list[Piece] = []
    failed = False
    items = list(f.elements("a list of segments"))
    if not items:
        raise f.fail("a route needs at least one segment")
    for item in items:
        try:
            pieces.append(_piece(item, ctx, pieces[-1] if pieces else None))
        except Invalid:
            failed = True
    if failed:
        raise Invalid("segments")
    return pieces


def _piece(f: Field, ctx: _Context, previous: Piece | None) -> Piece:
    f.expect_map("a segment: {node, from, to} or {node, at} or {point}")
    f.check_keys(SEGMENT_KEYS)
    reach = ctx.day(f.get("reach"), "reach") if f.has("reach") else None
    if f.has("point"):
        if f.has("node") or f.has("from") or f.has("to") or f.has("at"):
            raise f.fail("a 'point' waypoint takes no 'node', 'from', 'to' or 'at'")
        p = ctx.place(f.get("point"))
        return Piece(None, 0.0, 0.0, p[None, :], 0.0, reach)
    nf = f.get("node")
    node = nf.as_str(expected="a node id")
    if node not in ctx.nerves:
        if node in ctx.scene.nodes:
            raise nf.fail(f"node '{node}' has no centreline for the spread to follow")
        raise nf.fail(f"unknown node '{node}'")
    line = ctx.nerves[node].centreline
    radius = float(ctx.nerves[node].radius)
    if f.has("at"):
        if f.has("from") or f.has("to"):
            raise f.fail("give either 'at' or 'from'/'to', not both")
        u = ctx.fraction(f.get("at"), node)
        return Piece(node, u, u, subpath(line, u, u)[:1], radius, reach)
    if f.has("from"):
        u0 = ctx.fraction(f.get("from"), node)
    elif previous is not None:
        u0 = nearest_u(line, previous.points[-1])[0]
    else:
        u0 = 0.0
    u1 = ctx.fraction(f.get("to"), node) if f.has("to") else (1.0 if u0 < 0.5 else 0.0)
    if abs(u1 - u0) < 1e-6:
        raise f.fail(f"'from' and 'to' are the same point of '{node}' (u = {u0:.3f}); "
                     "use 'at' for a single point")
    return Piece(node, u0, u1, subpath(line, u0, u1), radius, reach)


# -- masses -----------------------------------------------------------------------------------
def _masses(f: Field, ctx: _Context) -> list[Mass]:
    out: list[Mass] = []
    seen: set[str] = set()
    for item in f.elements("a list of masses"):
        try:
            item.expect_map("a mass: {id, at, growth}")
            item.check_keys(MASS_KEYS)
            mid = item.get("id").as_str(ID_RE, "a snake_case id")
            if mid in seen:
                raise item.get("id").fail(f"duplicate mass id '{mid}'")
            center = ctx.place(item.get("at"))
            days: list[float] = []
            radii: list[float] = []
            for g in item.get("growth").elements("a list of {date, radius}"):
                g.expect_map("{date: YYYY-MM[-DD], radius: MM}")
                g.check_keys(GROWTH_KEYS)
                d = ctx.day(g.get("date"))
                r = g.get("radius").as_float(lo=0.0)
                if days and d <= days[-1]:
                    raise g.get("date").fail("growth dates must increase")
                if radii and r < radii[-1]:
                    raise g.get("radius").fail(
                        f"a mass only grows: radius {r:g} is smaller than {radii[-1]:g}")
                days.append(d)
                radii.append(r)
            if not days:
                raise item.get("growth").fail("need at least one {date, radius}")
            if max(radii) <= 0:
                raise item.get("growth").fail("the mass never grows (all radii are 0)")
            seen.add(mid)
            out.append(Mass(mid, item.opt("label", Field.as_str, mid.replace("_", " ")),
                            tuple(map(float, center)), tuple(days), tuple(radii)))  # type: ignore
        except Invalid:
            continue
    return out
