"""The schematic MR panel: the slab's section drawn like a fat-suppressed T1 post-contrast image.

Pure numpy and Pillow, so ``render``, ``export``, the viewer and tests draw the very same
picture. Solids are filled from their plane sections (even-odd, so winding does not matter),
walls and cortex are rims eroded from those fills; nerves are drawn from their centrelines
inside the slab (as a thick MR slice shows them), enlarged and brightened in proportion to
``state.involvement(node)``; the dural rim enhances where tumour has reached that part of the
sac; masses are discs where their sphere meets the slab. The body outline is the section's hull
with a margin (the scene has no skin), filled as suppressed fat.

Orientation is radiological: axial seen from the feet (patient's right on the image's left,
anterior up), coronal from the front, sagittal from the patient's left (anterior on the left).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.imaging.section import Plane, Section, Sectioner, fill_box
from app.imaging.tissues import (
    AIR,
    DURA_ENHANCED,
    ENHANCED_GREY,
    ENLARGE,
    FAT,
    MASS_GREY,
    NERVE_GREY,
    SKIN,
    TISSUES,
    Tissue,
    short_label,
    tissue_of,
)
from app.model.scene import Node, Scene
from app.model.slab import Slab
from app.spread.calendar import month_year

SUPERSAMPLE = 2  # drawn at twice the size and averaged down: smooth edges without a blur
BODY_MARGIN_MM = 28.0  # soft tissue around the outermost structure (the scene has no skin)
FOV_MARGIN_MM = 36.0
NOISE = 2.2  # grey levels of fixed-seed noise: reads as an image, not a diagram
PERINEURAL_FAT_MM = 0.9
WATERMARK = "schematic, not patient imaging"
SEQUENCE = "T1 fat-sat post-contrast (schematic)"
LABEL_RGB = (255, 226, 120)
TEXT_RGB = (235, 235, 235)
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/TTF"), Path("/Library/Fonts"), Path("C:/Windows/Fonts"))

# orientation -> the letters at (left, right, top, bottom) of the image
EDGE_MARKS = {"axial": ("R", "L", "A", "P"), "coronal": ("R", "L", "S", "I"),
              "sagittal": ("A", "P", "S", "I")}


@dataclass(frozen=True, eq=False)
class PanelImage:
    """A drawn panel and where things landed on it (for tests, labels and the browser)."""

    image: np.ndarray  # (H, W, 3) uint8
    slab: Slab
    date: str
    centres: dict[str, tuple[float, float]]  # node id -> (x, y) pixel of its section centre
    enhancement: dict[str, float]  # node id -> 0..1 as drawn
    mm_per_px: float
    origin_mm: tuple[float, float]  # plane (u, v) of pixel (0, 0)'s corner
    masses: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # x, y, r px

    def probe(self, x: float, y: float, radius: int = 1) -> float:
        """Mean grey in a small square around pixel (x, y)."""
        h, w = self.image.shape[:2]
        c, r = int(round(x)), int(round(y))
        patch = self.image[max(r - radius, 0):min(r + radius + 1, h),
                           max(c - radius, 0):min(c + radius + 1, w)]
        return float(patch[..., :3].mean())

    def probe_node(self, node_id: str, radius: int = 1) -> float:
        x, y = self.centres[node_id]
        return self.probe(x, y, radius)

    def to_pixel(self, point_mm: np.ndarray, plane: Plane) -> tuple[float, float]:
        uv = plane.to2d(np.asarray(point_mm, float).reshape(1, 3))[0]
        return ((uv[0] - self.origin_mm[0]) / self.mm_per_px,
                (uv[1] - self.origin_mm[1]) / self.mm_per_px)


@dataclass(frozen=True)
class _Solid:
    node: Node
    tissue: Tissue


class MRPanel:
    """Built once per scene; ``draw(slab, state)`` paints any slab at any moment.

    ``spread`` gives the dural sac's arrival times (its rim enhances where tumour has reached
    the cut); the state gives involvement and masses.
    """

    def __init__(self, scene: Scene, spread: object | None = None):
        self.scene = scene
        self.spread = spread if spread is not None else getattr(scene, "spread", None)
        self.solids: dict[str, _Solid] = {}
        self.nerves: dict[str, Node] = {}
        meshes = {}
        for node in scene.drawable():
            tissue = tissue_of(node)
            if tissue.name == "nerve" and node.path is not None:
                self.nerves[node.id] = node
            else:
                self.solids[node.id] = _Solid(node, tissue)
                meshes[node.id] = scene.mesh(node.id)
        self.sectioner = Sectioner(meshes)
        boxes = [np.vstack([m.points.min(axis=0), m.points.max(axis=0)])
                 for nid, m in meshes.items() if self.solids[nid].node.kind == "mesh"]
        if not boxes:
            boxes = [np.vstack([m.points.min(axis=0), m.points.max(axis=0)])
                     for m in meshes.values()] or [np.array([[-100.0] * 3, [100.0] * 3])]
        allb = np.vstack(boxes)
        self.box = np.vstack([allb.min(axis=0), allb.max(axis=0)])  # (2, 3) of the solids

    # -- geometry of the picture ----------------------------------------------------------
    def frame(self, slab: Slab, size: tuple[int, int]) -> tuple[Plane, float, tuple[float, float]]:
        """The plane, mm per output pixel and the plane (u, v) of the top-left corner.

        The field of view depends on the orientation only (not the position), so dragging the
        slab never rescales the picture.
        """
        plane = Plane.for_slab(slab.orientation, slab.axis, slab.position)
        corners = np.array([[x, y, z] for x in self.box[:, 0] for y in self.box[:, 1]
                            for z in self.box[:, 2]])
        uv = plane.to2d(corners)
        lo, hi = uv.min(axis=0), uv.max(axis=0)
        centre = (lo + hi) / 2
        extent = float((hi - lo).max()) + 2 * FOV_MARGIN_MM
        w, h = size
        mm_per_px = extent / min(w, h)
        origin = (float(centre[0] - mm_per_px * w / 2), float(centre[1] - mm_per_px * h / 2))
        return plane, mm_per_px, origin

    # -- drawing --------------------------------------------------------------------------
    def draw(self, slab: Slab, state: object | None = None, size: tuple[int, int] = (512, 512),
             labels: bool = True) -> PanelImage:
        plane, mm_px, origin = self.frame(slab, size)
        ss = SUPERSAMPLE
        w, h = size
        W, H = w * ss, h * ss
        scale = ss / mm_px  # supersampled pixels per mm
        org = np.asarray(origin)

        def px(uv: np.ndarray) -> np.ndarray:
            return (uv - org) * scale

        canvas = np.full((H, W), float(AIR), np.float32)
        sections: dict[str, Section] = {}
        for nid in self.solids:
            sec = self.sectioner.cut(nid, plane, slab.axis, ("u",))
            if not sec.empty:
                sections[nid] = sec
        nerve_runs = {nid: self._runs(node, slab, plane) for nid, node in self.nerves.items()}
        nerve_runs = {k: v for k, v in nerve_runs.items() if v}

        # the body: hull of everything cut, with a margin, as suppressed fat under a thin skin
        hull_pts = [sec.points for sec in sections.values()]
        hull_pts += [np.vstack(runs) for runs in nerve_runs.values()]
        if hull_pts:
            cloud = np.vstack(hull_pts)
            for margin, grey in ((BODY_MARGIN_MM, SKIN), (BODY_MARGIN_MM - 2.0, FAT)):
                outline = _rounded_hull(cloud, margin)
                idx = np.arange(len(outline))
                body = _Region.fill(px(outline), np.column_stack([idx, np.roll(idx, -1)]),
                                    (H, W))
                if body is not None:
                    body.paint(canvas, grey)

        involvement = (lambda nid: float(state.involvement(nid))) if state is not None else (
            lambda nid: 0.0)
        enhancement: dict[str, float] = {}
        for nid in sorted(sections, key=lambda k: self.solids[k].tissue.order):
            solid, sec = self.solids[nid], sections[nid]
            region = _Region.fill(px(sec.points), sec.segments, (H, W))
            if region is None:
                continue
            region.paint(canvas, solid.tissue.grey)
            wall = solid.tissue.wall_grey
            if wall is not None:
                if solid.tissue.name == "csf":
                    e = self._dura_enhancement(nid, sec, state)
                    enhancement[nid] = e
                    wall = int(round(wall + (DURA_ENHANCED - wall) * e))
                k = max(1, int(round(solid.tissue.wall_mm * scale)))
                region.rim(k).paint(canvas, wall)

        centres: dict[str, tuple[float, float]] = {}
        for nid in sections:  # the dural sac and the cauda carry an axis: probe it too
            node = self.solids[nid].node
            if node.path is not None:
                runs = self._runs(node, slab, plane)
                if runs:
                    cx, cy = _centre(runs, plane, node, slab)
                    centres[nid] = ((cx - org[0]) / mm_px, (cy - org[1]) / mm_px)
        for nid, runs in nerve_runs.items():
            node = self.nerves[nid]
            e = float(np.clip(involvement(nid), 0.0, 1.0))
            enhancement[nid] = e
            r = node.path.radius * (1.0 + ENLARGE * e)
            grey = NERVE_GREY + (ENHANCED_GREY - NERVE_GREY) * e
            pieces = [px(run) for run in runs]
            _capsules(canvas, pieces, (r + PERINEURAL_FAT_MM) * scale, FAT)
            _capsules(canvas, pieces, r * scale, grey)
            cx, cy = _centre(runs, plane, node, slab)
            centres[nid] = ((cx - org[0]) / mm_px, (cy - org[1]) / mm_px)

        masses: dict[str, tuple[float, float, float]] = {}
        for ms in getattr(state, "masses", ()) or ():
            if ms.radius <= 0:
                continue
            c = np.asarray(ms.center, float)
            d = abs(float(c[slab.axis]) - slab.position)
            d = max(0.0, d - slab.thickness / 2)
            if d >= ms.radius:
                continue
            rr = float(np.sqrt(ms.radius ** 2 - d ** 2))
            cuv = plane.to2d(c.reshape(1, 3))[0]
            cp = px(cuv)
            _disc(canvas, cp, rr * scale, MASS_GREY - 18)
            _ring(canvas, cp, rr * scale, max(1.0, 1.2 * scale), MASS_GREY + 12)
            masses[ms.id] = (float(cp[0] / ss), float(cp[1] / ss), rr / mm_px)

        canvas += _noise(H, W)
        small = canvas[0::ss, 0::ss].copy()  # the mean of each ss x ss block, by strided sums
        for dy in range(ss):
            for dx in range(ss):
                if dx or dy:
                    small += canvas[dy::ss, dx::ss]
        small *= 1.0 / (ss * ss)
        grey8 = np.clip(np.rint(small), 0, 255).astype(np.uint8)
        ink = _Ink(Image.fromarray(grey8, "L").convert("RGB"))
        if labels:
            self._labels(ink, sections, centres, masses, org, mm_px, size)
        date = getattr(state, "date", "") or ""
        _furniture(ink, slab, date, mm_px, size)
        return PanelImage(ink.finish(), slab, date, centres, enhancement, mm_px,
                          (float(org[0]), float(org[1])), masses)

    def _runs(self, node: Node, slab: Slab, plane: Plane) -> list[np.ndarray]:
        """The nerve's centreline pieces inside the slab, in plane (u, v) mm."""
        pts = node.path.centreline
        lo, hi = slab.bounds
        c = pts[:, slab.axis]
        if c.max() < lo or c.min() > hi:
            return []
        # resample finely so clipping at the slab faces is exact enough (<= 0.5 mm steps)
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(seg)])
        n = max(2, int(np.ceil(s[-1] / 0.5)) + 1)
        ss = np.linspace(0.0, s[-1], n)
        fine = np.column_stack([np.interp(ss, s, pts[:, k]) for k in range(3)])
        inside = (fine[:, slab.axis] >= lo) & (fine[:, slab.axis] <= hi)
        if not inside.any():
            # a nerve crossing a thin slab between two samples still shows as a dot
            mid = np.argmin(np.abs(fine[:, slab.axis] - slab.position))
            if abs(fine[mid, slab.axis] - slab.position) > 0.5:
                return []
            inside[mid] = True
        idx = np.flatnonzero(inside)
        runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
        return [plane.to2d(fine[r]) for r in runs if len(r)]

    def _dura_enhancement(self, nid: str, sec: Section, state: object | None) -> float:
        """1 where tumour has reached the part of the sac this plane cuts, else 0."""
        if state is None or self.spread is None or "u" not in sec.data:
            return 0.0
        if nid not in getattr(self.spread, "centrelines", {}):
            return 0.0
        u = np.asarray([float(np.median(sec.data["u"]))])
        arrival = self.spread.arrival_for_u(nid, u)
        return 1.0 if float(arrival[0]) <= float(state.time) else 0.0

    def _labels(self, ink: _Ink, sections: dict[str, Section],
                centres: dict[str, tuple[float, float]], masses: dict, org: np.ndarray,
                mm_px: float, size: tuple[int, int]) -> None:
        """Big structures get their name inside; small ones and nerves a leader line outward
        (sideways off the midline, downward on it). Labels never overlap: later ones give way.
        """
        w, h = size
        font_px = max(10, int(round(min(w, h) * 0.026)))
        anchors: list[tuple[str, float, float, bool]] = []  # text, x, y, inside
        for _mid, (x, y, r) in masses.items():
            anchors.append(("mass", x, y + r, False))
        for nid, (x, y) in centres.items():
            if nid in self.nerves:
                anchors.append((short_label(self.nerves[nid]), x, y, False))
        for nid, sec in sections.items():
            solid = self.solids[nid]
            area = sec.area()
            if not solid.tissue.label or area < 40.0:
                continue
            best = max(zip(sec.loops, sec.depth), key=lambda ld: abs(_area(sec.points[ld[0]])))
            x, y = (sec.points[best[0]].mean(axis=0) - org) / mm_px
            anchors.append((short_label(solid.node), x, y, area > 900.0))
        for text, x, y, inside in anchors:
            if inside:
                ink.text((x, y), text, font_px, "mm", avoid=True)
                continue
            dx = x - w / 2
            if abs(dx) < 0.05 * w:
                tx, ty, anchor = x, y + 0.09 * h, "mt"
                start, end = (x, y + 3), (tx, ty - 1)
            else:
                side = 1.0 if dx > 0 else -1.0
                tx, ty = x + side * 0.075 * w, y - 0.04 * h
                anchor = "lm" if side > 0 else "rm"
                start, end = (x + side * 3, y - 2), (tx - side * 2, ty + 3)
            if ink.text((tx, ty), text, font_px, anchor, avoid=True):
                ink.draw.line([start, end], fill=LABEL_RGB, width=1)


# -- small raster helpers ------------------------------------------------------------------
def _area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


@dataclass(frozen=True, eq=False)
class _Region:
    """A bool mask placed at (row, col) of the canvas: work stays inside the structure's box."""

    r0: int
    c0: int
    mask: np.ndarray

    @classmethod
    def fill(cls, points_px: np.ndarray, segments: np.ndarray,
             shape: tuple[int, int]) -> _Region | None:
        box = fill_box(points_px, segments, shape)
        if box is None or not box[2].any():
            return None
        return cls(*box)

    def paint(self, canvas: np.ndarray, value: float) -> None:
        h, w = self.mask.shape
        canvas[self.r0:self.r0 + h, self.c0:self.c0 + w][self.mask] = value

    def eroded(self, k: int) -> _Region:
        """Shrunk by ``k`` pixels (4-neighbour steps)."""
        m = np.pad(self.mask, 1)
        for _ in range(k):
            m[1:-1, 1:-1] = (m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2]
                             & m[1:-1, 2:])
        return _Region(self.r0, self.c0, m[1:-1, 1:-1].copy())

    def rim(self, k: int) -> _Region:
        """The band ``k`` pixels wide just inside the boundary (cortex, organ walls, dura)."""
        return _Region(self.r0, self.c0, self.mask & ~self.eroded(k).mask)


@lru_cache(maxsize=4)
def _noise_field(h: int, w: int) -> np.ndarray:
    field_ = np.random.default_rng(7).normal(0.0, NOISE, (h, w)).astype(np.float32)
    field_.setflags(write=False)
    return field_


def _noise(h: int, w: int) -> np.ndarray:
    """Fixed-seed noise (the same every time: pictures stay comparable)."""
    return _noise_field(h, w)


def _capsules(canvas: np.ndarray, pieces: list[np.ndarray], radius: float, value: float) -> None:
    """Paint every pixel within ``radius`` of the polylines ``pieces`` (pixel coordinates).

    Each segment only visits the pixels of its own box, so the cost follows the ink.
    """
    H, W = canvas.shape
    for piece in pieces:
        piece = _thin(piece, max(1.0, radius * 0.5))
        segs = [(piece[0], piece[0])] if len(piece) == 1 else list(zip(piece[:-1], piece[1:]))
        for a, b in segs:
            x0 = max(int(np.floor(min(a[0], b[0]) - radius)), 0)
            y0 = max(int(np.floor(min(a[1], b[1]) - radius)), 0)
            x1 = min(int(np.ceil(max(a[0], b[0]) + radius)) + 1, W)
            y1 = min(int(np.ceil(max(a[1], b[1]) + radius)) + 1, H)
            if x1 <= x0 or y1 <= y0:
                continue
            qx = np.arange(x0, x1) + 0.5 - a[0]
            qy = (np.arange(y0, y1) + 0.5 - a[1])[:, None]
            ab = b - a
            denom = float(ab @ ab)
            if denom == 0.0:
                d2 = qx ** 2 + qy ** 2
            else:
                t = np.clip((qx * ab[0] + qy * ab[1]) / denom, 0.0, 1.0)
                d2 = (qx - t * ab[0]) ** 2 + (qy - t * ab[1]) ** 2
            canvas[y0:y1, x0:x1][d2 <= radius * radius] = value


def _thin(piece: np.ndarray, step: float) -> np.ndarray:
    """Keep points about ``step`` apart (and both ends): smooth paths need few segments."""
    if len(piece) <= 2:
        return piece
    seg = np.linalg.norm(np.diff(piece, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    keep = np.unique(np.searchsorted(s, np.arange(0.0, s[-1], step)))
    keep = np.union1d(keep, [0, len(piece) - 1])
    return piece[keep]


def _disc(canvas: np.ndarray, c: np.ndarray, r: float, value: float) -> None:
    _capsules(canvas, [np.asarray(c, float).reshape(1, 2)], r, value)


def _ring(canvas: np.ndarray, c: np.ndarray, r: float, width: float, value: float) -> None:
    H, W = canvas.shape
    x0, y0 = max(int(c[0] - r - 2), 0), max(int(c[1] - r - 2), 0)
    x1, y1 = min(int(c[0] + r + 3), W), min(int(c[1] + r + 3), H)
    if x1 <= x0 or y1 <= y0:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1]
    d = np.hypot(xs + 0.5 - c[0], ys + 0.5 - c[1])
    canvas[y0:y1, x0:x1][(d <= r) & (d > r - width)] = value


def _centre(runs: list[np.ndarray], plane: Plane, node: Node, slab: Slab) -> tuple[float, float]:
    """Where the nerve crosses the slab's mid-plane (else the middle of its longest run)."""
    pts = node.path.centreline
    c = pts[:, slab.axis] - slab.position
    cross = np.flatnonzero(np.sign(c[:-1]) != np.sign(c[1:]))
    if len(cross):
        i = int(cross[0])
        t = c[i] / (c[i] - c[i + 1]) if c[i] != c[i + 1] else 0.0
        p = pts[i] + t * (pts[i + 1] - pts[i])
        uv = plane.to2d(p.reshape(1, 3))[0]
        return float(uv[0]), float(uv[1])
    run = max(runs, key=len)
    uv = run[len(run) // 2]
    return float(uv[0]), float(uv[1])


def _rounded_hull(points: np.ndarray, margin: float, n: int = 96) -> np.ndarray:
    """The convex hull grown by ``margin`` with round corners, counter-clockwise.

    The grown hull's boundary point facing direction ``d`` is the farthest point along ``d``
    plus ``margin * d``, so sampling directions gives it directly (no hull algorithm).
    """
    ang = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    dirs = np.column_stack([np.cos(ang), np.sin(ang)])
    far = points[np.argmax(points @ dirs.T, axis=0)]
    return far + margin * dirs


# -- text ----------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for d in FONT_DIRS:
        if (d / name).is_file():
            try:
                return ImageFont.truetype(str(d / name), size)
            except OSError:
                break
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size=size)


@lru_cache(maxsize=1024)
def _sprite(text: str, size: int, bold: bool, fill: tuple[int, int, int],
            stroke: int) -> np.ndarray:
    """A text's RGBA picture, rendered once (text with an outline is the slow part of a panel)."""
    font = _font(size, bold)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke, anchor="lt")
    img = Image.new("RGBA", (right - left + 2, bottom - top + 2), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((1 - left, 1 - top), text, font=font, anchor="lt", fill=fill,
                             stroke_width=stroke, stroke_fill=(0, 0, 0))
    out = np.asarray(img)
    out.setflags(write=False)
    return out


class _Ink:
    """Lines drawn with PIL, then text sprites blended on top; labels may ask not to overlap."""

    def __init__(self, image: Image.Image):
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.sprites: list[tuple[int, int, np.ndarray]] = []
        self.used: list[tuple[float, float, float, float]] = []

    def text(self, xy: tuple[float, float], text: str, size: int, anchor: str = "mm",
             fill: tuple[int, int, int] = LABEL_RGB, bold: bool = False, stroke: int = 2,
             avoid: bool = False) -> bool:
        """Place ``text`` at ``xy`` by its anchor (PIL's: l/m/r then t/m/b); with ``avoid``,
        not where it would overlap another such label. Says whether it was placed."""
        sprite = _sprite(text, size, bold, fill, stroke)
        h, w = sprite.shape[:2]
        x0 = xy[0] - {"l": 0.0, "m": w / 2, "r": float(w)}[anchor[0]]
        y0 = xy[1] - {"t": 0.0, "m": h / 2, "b": float(h)}[anchor[1]]
        box = (x0, y0, x0 + w, y0 + h)
        if avoid:
            for b in self.used:
                if box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]:
                    return False
            self.used.append(box)
        self.sprites.append((int(round(x0)), int(round(y0)), sprite))
        return True

    def finish(self) -> np.ndarray:
        out = np.array(self.image)
        H, W = out.shape[:2]
        for x0, y0, sprite in self.sprites:
            h, w = sprite.shape[:2]
            xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
            if xb <= xa or yb <= ya:
                continue
            sp = sprite[ya - y0:yb - y0, xa - x0:xb - x0].astype(np.float32)
            alpha = sp[:, :, 3:4] / 255.0
            region = out[ya:yb, xa:xb].astype(np.float32)
            out[ya:yb, xa:xb] = np.rint(region + (sp[:, :, :3] - region) * alpha).astype(np.uint8)
        return out


def _furniture(ink: _Ink, slab: Slab, date: str, mm_px: float, size: tuple[int, int]) -> None:
    """Orientation letters, the scale bar, the level and date, and the watermark."""
    w, h = size
    pad = max(4, int(0.018 * min(w, h)))
    small = max(9, int(round(min(w, h) * 0.024)))
    big = max(11, int(round(min(w, h) * 0.04)))
    left, right, top, bottom = EDGE_MARKS[slab.orientation]
    for text, xy, anchor in ((left, (pad, h / 2), "lm"), (right, (w - pad, h / 2), "rm"),
                             (top, (w / 2, pad), "mt"),
                             (bottom, (w / 2, h - pad - 0.05 * h), "mb")):
        ink.text(xy, text, big, anchor, fill=TEXT_RGB, bold=True)
    ink.text((pad, pad), SEQUENCE, small, "lt", fill=TEXT_RGB, stroke=0)
    ink.text((pad, pad + small * 1.3), slab.describe(), small, "lt", fill=TEXT_RGB, stroke=0)
    if date:
        ink.text((w - pad, pad), month_year(date), small, "rt", fill=TEXT_RGB, bold=True,
                 stroke=0)
    # scale bar: a round length near a fifth of the width
    target = w * mm_px / 5
    length = max((v for v in (10, 20, 25, 50, 100, 200) if v <= target), default=10)
    bar = length / mm_px
    x1, y = w - pad, h - pad - small * 1.6
    x0 = x1 - bar
    ink.draw.line([(x0, y), (x1, y)], fill=TEXT_RGB, width=max(2, int(h / 256)))
    for x in (x0, x1):
        ink.draw.line([(x, y - 4), (x, y + 4)], fill=TEXT_RGB, width=1)
    label = f"{length // 10} cm" if length % 10 == 0 else f"{length} mm"
    ink.text(((x0 + x1) / 2, y - 3), label, small, "mb", fill=TEXT_RGB, stroke=0)
    ink.text((w / 2, h - pad), WATERMARK, small, "mb", fill=(255, 255, 255), stroke=1)


def panel_jpeg(panel: PanelImage, quality: int = 85) -> bytes:
    """The panel as JPEG bytes: what the viewer sends per slab move (about 25 KB at 512 px and
    1 ms to encode; a PNG of the same noisy grey picture is five times larger)."""
    import io

    buf = io.BytesIO()
    Image.fromarray(panel.image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


__all__ = ["MRPanel", "PanelImage", "TISSUES", "panel_jpeg"]
