"""The slab and the schematic MR panel in the viewer, and the imaging findings on its timeline.

Server side, a :class:`~app.render.slab.SlabLayer` clips the engine's actors and caps the cuts
(what remote images show). The page's player gets the same slab as one compact message per move
(``sl_msg``: :func:`~app.render.slab.slab_message` without the panel: the two planes, the caps
the server cut, the faces' axes for the mass discs, which it places per frame itself);
``static/slab.js`` hands it to ``player.setSlab``. So both modes draw the same clipped and
capped picture. The panel follows the slab and the timeline; it is redrawn only
when what it shows changes (the slab, or the involvement and masses at the current date).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import numpy as np

from app.model.slab import DEFAULT_THICKNESS, ORIENTATIONS, STEP_MM, Slab, SlabError, parse_slab
from app.web.keys import Slab as K
from app.web.keys import Structure, Timeline, Trigger, View

if TYPE_CHECKING:
    from app.web.app import ViewerApp

PANEL_PX = 512
ROUND = 3
FINDING_DAYS = 20.0  # a finding shows in the caption this many days either side of its date
STACK_S = 1.5  # finding marks closer than this (animation seconds) stack on the timeline


class SlabLogic:
    def __init__(self, app: ViewerApp):
        self.app = app
        self.layer: Any = None  # SlabLayer, built when a slab is first shown in a scene
        self.panel: Any = None  # MRPanel, likewise
        self._panel_key: Any = None
        self._applied: Slab | None = None
        self._level = ""  # the named level last chosen (kept while the slab stays there)
        self._ranges: dict[str, tuple[float, float]] = {}
        state, ctrl = app.state, app.ctrl
        state.update({K.ON: False, K.ORIENT: "axial", K.POS: 0.0, K.THICK: DEFAULT_THICKNESS,
                      K.MIN: -100.0, K.MAX: 100.0, K.SPEC: "", K.LABEL: "", K.LABELS: True,
                      K.PRESETS: [], K.FINDINGS: [], K.FINDING: None, K.PANEL: "",
                      K.PLANES: None, K.MESSAGE: None})
        state.change(K.ON, K.ORIENT, K.POS, K.THICK)(self._on_slab)
        state.change(K.LABELS)(self._on_labels)
        state.change(Timeline.TIME)(self._on_time)
        state.change(Structure.HIDDEN, Structure.ISOLATED, Structure.OPACITY)(self._on_looks)
        ctrl.trigger(Trigger.SL_PRESET)(self.preset)
        ctrl.trigger(Trigger.SL_FINDING)(self.finding)
        ctrl.trigger(Trigger.SL_STEP)(self.step)

    # -- scene switch ----------------------------------------------------------------------
    def reset_for_scene(self) -> None:
        """A new scenario: its findings, presets and the slider's ranges; the slab stays."""
        if self.layer is not None:
            self.layer.remove()
        self.layer = None
        self.panel = None
        self._panel_key = None
        self._applied = None
        engine = self.app.engine
        scene = engine.scene
        spread = engine.spread
        self._ranges = _ranges(scene)
        findings, presets = [], []
        if spread is not None:
            for f in spread.findings:
                findings.append({
                    "id": f.id, "date": f.date, "time": round(spread.keyframes.time_of_day(f.day),
                                                              ROUND),
                    "modality": f.modality, "slab": f.slab, "text": f.text, "figure": f.figure,
                    "label": f"{f.modality} {f.date[:7]}" + (f": {f.figure}" if f.figure else "")})
            for i, item in enumerate(findings):  # marks of one date stack instead of hiding
                item["row"] = sum(1 for other in findings[:i]
                                  if abs(other["time"] - item["time"]) < STACK_S)
            presets = [{"id": p.id, "label": p.label, "slab": p.slab}
                       for p in spread.slab_presets]
        lo, hi = self._ranges.get(self.app.state[K.ORIENT], (-100.0, 100.0))
        self.app.state.update({K.FINDINGS: findings, K.PRESETS: presets, K.MIN: lo, K.MAX: hi})
        if self.app.state[K.ON]:
            self.apply()

    # -- what the page asks ----------------------------------------------------------------
    def preset(self, preset_id: str) -> None:
        spread = self.app.engine.spread
        for p in getattr(spread, "slab_presets", ()) or ():
            if p.id == preset_id:
                self.show(p.slab, camera=True)
                return
        self.app.message(f"no slab preset '{preset_id}' in this scenario", "warning")

    def finding(self, finding_id: str) -> None:
        """A finding's mark: its date, its slab, and the view of the slab."""
        spread = self.app.engine.spread
        for f in getattr(spread, "findings", ()) or ():
            if f.id == finding_id:
                self.app.timeline.seek(spread.keyframes.time_of_day(f.day))
                self.show(f.slab, camera=True)
                self.app.state[K.FINDING] = _finding_card(f)
                return
        self.app.message(f"no finding '{finding_id}' in this scenario", "warning")

    def step(self, steps: Any) -> None:
        """Up or down by ``steps`` notches (keys, the slider's buttons)."""
        s = self.app.state
        lo, hi = s[K.MIN], s[K.MAX]
        s[K.POS] = float(np.clip(round(float(s[K.POS]) + STEP_MM * int(steps), 3), lo, hi))
        s[K.ON] = True

    def show(self, text: str, camera: bool = False) -> Slab | None:
        """Show the slab a text names (a level, ``axial:z=-40,thickness=6``)."""
        try:
            slab = parse_slab(text, self.app.engine.scene.landmarks)
        except SlabError as exc:
            self.app.message(str(exc), "warning")
            return None
        lo, hi = self._ranges.get(slab.orientation, (-100.0, 100.0))
        self.app.state.update({K.ORIENT: slab.orientation, K.MIN: lo, K.MAX: hi,
                               K.POS: float(np.clip(slab.position, lo, hi)),
                               K.THICK: float(slab.thickness), K.ON: True})
        self._level = slab.level
        if camera:
            from app.render.slab import slab_camera
            from app.web.engine import Camera

            self.app.state[View.CAMERA] = ""
            self.app.camera.move_to(Camera.of_preset(slab_camera(self.app.engine.scene, slab)))
        self.apply()
        return slab

    # -- state changes ---------------------------------------------------------------------
    def _on_slab(self, **_: Any) -> None:
        s = self.app.state
        lo, hi = self._ranges.get(s[K.ORIENT], (-100.0, 100.0))
        if (s[K.MIN], s[K.MAX]) != (lo, hi):
            s[K.MIN], s[K.MAX] = lo, hi
            if not lo <= float(s[K.POS]) <= hi:
                s[K.POS] = (lo + hi) / 2
        self.apply()

    def _on_labels(self, **_: Any) -> None:
        self._panel_key = None
        self._update_panel()

    def _on_time(self, **_: Any) -> None:
        if self.slab() is None:
            self._show_finding(None)
            return
        state = self.app.engine.state_at(self.app.engine.time)
        if self.layer is not None:
            self.layer.apply(state)  # the server's mass discs (players place their own)
        self._update_panel()
        self._show_finding(state)
        if self.app.remote:
            self.app.redraw()

    def _on_looks(self, **_: Any) -> None:
        if self.layer is not None and self.slab() is not None:
            self.layer.sync_visibility()

    # -- the slab --------------------------------------------------------------------------
    def slab(self) -> Slab | None:
        s = self.app.state
        if not s[K.ON] or not self.app.engine.scene.nodes:
            return None
        orient = s[K.ORIENT] if s[K.ORIENT] in ORIENTATIONS else "axial"
        try:
            pos, thick = float(s[K.POS]), float(s[K.THICK])
        except (TypeError, ValueError):
            return None
        slab = Slab(orient, round(pos, 3), thick)
        level = self._level
        if level:
            try:
                named = parse_slab(f"{orient}:{level}", self.app.engine.scene.landmarks)
                if abs(named.position - slab.position) < 1e-3:
                    slab = Slab(orient, slab.position, thick, level)
            except SlabError:
                pass
        return slab

    def apply(self) -> None:
        """Clip and cap (server), tell the browsers the planes, redraw the panel."""
        engine = self.app.engine
        slab = self.slab()
        s = self.app.state
        if slab == self._applied and (slab is None or self.layer is not None):
            return  # a change the page echoes back, or a preset already shown
        self._applied = slab
        if slab is None:
            if self.layer is not None:
                self.layer.set(None)
            s.update({K.PLANES: None, K.SPEC: "", K.LABEL: "", K.PANEL: "", K.MESSAGE: None,
                      K.FINDING: None})
            self._panel_key = None
            self._refresh()
            return
        if self.layer is None:
            from app.render.slab import SlabLayer

            self.layer = SlabLayer(engine.view, engine.layer)
        caps = self.layer.set(slab)
        self.layer.apply(engine.state_at(engine.time))
        lo, hi = slab.bounds
        n = slab.normal
        s.update({
            K.PLANES: [[*(round(float(v), ROUND) for v in n * lo), *n.tolist()],
                       [*(round(float(v), ROUND) for v in n * hi), *(-n).tolist()]],
            K.SPEC: slab.spec(), K.LABEL: slab.describe(),
            K.MESSAGE: self._message(slab, caps)})
        self._update_panel()
        self._refresh()

    def _refresh(self) -> None:
        self.app.redraw()  # remote images; players follow sl_msg

    def _message(self, slab: Slab, caps: list[Any]) -> dict[str, Any]:
        """The slab for the page's player: the caps the server just cut (no second cut), and
        for ``context=faint`` the solids the server ghosts."""
        from app.render.slab import slab_message

        ghosts = list(self.layer.ghosts) if self.layer is not None else []
        return slab_message(slab, caps, ghosts=ghosts)

    # -- the panel and the caption ---------------------------------------------------------
    def _update_panel(self) -> None:
        slab = self.slab()
        if slab is None:
            return
        engine = self.app.engine
        state = engine.state_at(engine.time)
        if self.panel is None:
            from app.imaging.panel import MRPanel

            self.panel = MRPanel(engine.scene, engine.spread)
        key = (slab, bool(self.app.state[K.LABELS]), _panel_key(state, self.panel))
        if key == self._panel_key:
            return
        from app.imaging.panel import panel_jpeg

        picture = self.panel.draw(slab, state, (PANEL_PX, PANEL_PX),
                                  labels=bool(self.app.state[K.LABELS]))
        self._panel_key = key
        self.app.state[K.PANEL] = ("data:image/jpeg;base64,"
                                   + base64.b64encode(panel_jpeg(picture)).decode("ascii"))

    def _show_finding(self, state: Any) -> None:
        """The caption shows the finding of the current date, if one is near."""
        spread = self.app.engine.spread
        if state is None or spread is None:
            if self.app.state[K.FINDING] is not None:
                self.app.state[K.FINDING] = None
            return
        near = spread.findings_on(state.day, FINDING_DAYS)
        spec = self.app.state[K.SPEC]
        pick = None
        for f in near:  # the finding on the slab shown, else the first of the date
            try:
                same = parse_slab(f.slab, self.app.engine.scene.landmarks).spec() == spec
            except SlabError:
                same = False
            if same or pick is None:
                pick = f
            if same:
                break
        card = _finding_card(pick) if pick is not None else None
        if card != self.app.state[K.FINDING]:
            self.app.state[K.FINDING] = card


def _finding_card(f: Any) -> dict[str, str]:
    from app.spread.calendar import format_day, month_year

    return {"id": f.id, "title": f"{f.modality}, {month_year(format_day(f.day))}", "text": f.text,
            "figure": f.figure, "slab": f.slab}


def _panel_key(state: Any, panel: Any) -> Any:
    """What the panel shows of a moment: the month, the involvement of every node with a path
    (nerves and the dural sac) and the masses, rounded to what a picture can show."""
    if state is None:
        return None
    inv = tuple(round(v.involvement * 40) for v in state.nodes.values())
    masses = tuple(round(m.radius * 4) for m in state.masses)
    return (state.date[:7], inv, masses)


def _ranges(scene: Any) -> dict[str, tuple[float, float]]:
    """The slider's range per orientation: the solids' extent along its axis."""
    boxes = [scene.mesh(n.id).bounds() for n in scene.drawable() if n.kind == "mesh"]
    if not boxes:
        boxes = [scene.mesh(n.id).bounds() for n in scene.drawable()]
    if not boxes:
        return {}
    b = np.asarray(boxes)
    out = {}
    for orient, (axis, _letter) in ORIENTATIONS.items():
        lo, hi = float(b[:, 2 * axis].min()), float(b[:, 2 * axis + 1].max())
        out[orient] = (float(np.floor(lo)), float(np.ceil(hi)))
    return out
