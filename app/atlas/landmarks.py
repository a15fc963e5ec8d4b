"""Finding anatomical landmarks on real bones, from their shape alone.

Each detector states the anatomical definition it implements and uses only robust features:
extreme points, holes in a depth image (the anterior sacral foramina), the posterior border of
the hip bone seen from the side (the greater sciatic notch), a sphere fitted to the acetabular
cup. Everything is in LPS millimetres (+x left, +y posterior, +z superior).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.atlas.raster import View, depth_image, dilate, label, max_filter, min_filter
from app.atlas.surface import Surface
from app.model.mesh import TriMesh

SIDES = (("l", 1.0), ("r", -1.0))
Prior = Callable[[str], "np.ndarray | None"]


@dataclass
class Detection:
    """Landmarks found on an atlas, with a line per landmark saying how (for the report)."""

    points: dict[str, np.ndarray] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, point: np.ndarray, how: str) -> None:
        self.points[name] = np.asarray(point, np.float64)
        self.how[name] = how

    def miss(self, name: str, why: str) -> None:
        self.missing[name] = why


def surface_centroid(mesh: TriMesh) -> np.ndarray:
    """Area-weighted centre of a surface (independent of how finely it is triangulated)."""
    tri = mesh.points[mesh.faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    return (tri.mean(axis=1) * area[:, None]).sum(axis=0) / max(area.sum(), 1e-12)


# -- sacrum ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SacralFrame:
    """The sacrum's midline and its long axis in the sagittal plane.

    ``axis`` runs from apex to base (superior, leaning anterior); ``normal`` is perpendicular
    to it in the sagittal plane, pointing posterior (into the bone from the pelvis).
    """

    midline_x: float
    centre: np.ndarray
    axis: np.ndarray
    normal: np.ndarray


def sacral_frame(sacrum: TriMesh, midline_x: float | None = None) -> SacralFrame:
    pts = sacrum.points
    mid = float((pts[:, 0].min() + pts[:, 0].max()) / 2) if midline_x is None else midline_x
    centre = surface_centroid(sacrum)
    yz = pts[:, 1:] - centre[1:]
    _, vecs = np.linalg.eigh(np.cov(yz.T))
    ax = vecs[:, -1]
    if ax[1] < 0:  # point superior
        ax = -ax
    axis = np.array([0.0, ax[0], ax[1]])
    normal = np.array([0.0, ax[1], -ax[0]])  # axis rotated -90 deg in (y, z)
    if normal[1] < 0:
        normal = -normal
    return SacralFrame(mid, centre, axis, normal)


def promontory(sacrum: TriMesh, frame: SacralFrame) -> np.ndarray:
    """The anterior-superior point of the S1 body on the midline (max of -y + z on a slab)."""
    pts = sacrum.points
    slab = pts[np.abs(pts[:, 0] - frame.midline_x) < 6.0]
    score = -slab[:, 1] + slab[:, 2]
    best = slab[np.argsort(score)[-5:]].mean(axis=0)
    best[0] = frame.midline_x
    return best


@dataclass(frozen=True)
class Hole:
    centre: np.ndarray  # at the rim of the opening (mm)
    area: float  # mm^2 seen along the view
    tilt: float  # degrees


def sacral_holes(sacrum: TriMesh, frame: SacralFrame, tilts=range(10, 65, 10),
                 res: float = 0.5) -> list[Hole]:
    """Openings on the anterior (pelvic) surface of the sacrum, seen from several tilts.

    The view looks at the pelvic surface from in front and below (tilt degrees from straight
    posterior). A hole is a compact region markedly deeper (6 mm or more) than the bone around
    it, a through-hole, or a pit, which is what a foramen looks like from the pelvis.
    """
    pts = sacrum.points
    half = float(np.max(np.abs(pts - frame.centre)) + 10.0)
    out: list[Hole] = []
    for tilt in tilts:
        t = np.radians(tilt)
        w = np.array([0.0, np.cos(t), np.sin(t)])
        up = np.array([0.0, -np.sin(t), np.cos(t)])
        view = View.looking(frame.centre, w, up, half, res)
        z = depth_image(sacrum, view)
        seen = np.isfinite(z)
        if not seen.any():
            continue
        d = np.where(seen, z, z[seen].max() + 30.0)
        k = int(round(20.0 / res)) | 1
        top = d - max_filter(min_filter(d, k), k)
        labels, n = label(top > 6.0)
        rows, cols = view.shape
        for i in range(1, n + 1):
            rr, cc = np.nonzero(labels == i)
            if rr.min() == 0 or cc.min() == 0 or rr.max() == rows - 1 or cc.max() == cols - 1:
                continue
            area = len(rr) * res * res
            if not 3.0 <= area <= 250.0:
                continue
            r0, r1 = max(rr.min() - 3, 0), rr.max() + 4
            c0, c1 = max(cc.min() - 3, 0), cc.max() + 4
            hole = labels[r0:r1, c0:c1] == i
            rim = dilate(hole, 5) & ~hole & seen[r0:r1, c0:c1]
            if rim.sum() < 4:
                continue
            depth = float(np.median(z[r0:r1, c0:c1][rim]))
            out.append(Hole(view.point(rr.mean(), cc.mean(), depth), area, float(tilt)))
    return out


def cluster_holes(holes: list[Hole], radius: float = 6.0) -> list[tuple[np.ndarray, int, float]]:
    """Group detections of the same opening from different tilts: (centre, views, max area)."""
    groups: list[list[Hole]] = []
    for h in sorted(holes, key=lambda h: -h.area):
        for g in groups:
            if np.linalg.norm(g[0].centre - h.centre) < radius:
                g.append(h)
                break
        else:
            groups.append([h])
    out = []
    for g in groups:
        big = sorted(g, key=lambda h: -h.area)[: max(1, len(g) // 2)]
        out.append((np.mean([h.centre for h in big], axis=0), len(g), g[0].area))
    return out


def anterior_foramina(sacrum: TriMesh, frame: SacralFrame, prom: np.ndarray,
                      prior: Prior | None = None) -> dict[str, np.ndarray]:
    """Centres of the four pairs of anterior sacral foramina (S1 highest).

    Openings seen from at least two tilts are paired by mirror symmetry about the midline;
    pairs above the promontory level are not foramina (they are gaps behind the ala). With a
    prior (the model's foramina carried over by a coarse fit),
    pairs far from every prediction are dropped; then the four highest pairs below the
    promontory are S1 to S4.
    """
    clusters = [c for c in cluster_holes(sacral_holes(sacrum, frame)) if c[1] >= 2]
    mid = frame.midline_x
    left = [c for c in clusters if 6.0 < c[0][0] - mid < 45.0]
    right = [c for c in clusters if 6.0 < mid - c[0][0] < 45.0]
    pairs = []
    for cl in left:
        for cr in right:
            mirrored = cr[0].copy()
            mirrored[0] = 2 * mid - mirrored[0]
            gap = float(np.linalg.norm(cl[0] - mirrored))
            if gap < 10.0:
                pairs.append((gap, cl[0], cr[0]))
    pairs = [p for p in pairs if (p[1][2] + p[2][2]) / 2 < prom[2] - 8.0]
    # one pair per opening: keep the most symmetric partner of each
    pairs.sort(key=lambda p: p[0])
    chosen: list[tuple[float, np.ndarray, np.ndarray]] = []
    for p in pairs:
        if all(np.linalg.norm(p[1] - q[1]) > 1e-6 and np.linalg.norm(p[2] - q[2]) > 1e-6
               for q in chosen):
            chosen.append(p)
    if prior is not None:
        # A coarse fit can be a whole level off, so the prior only rules out openings far
        # from every predicted foramen; the order from the top decides the levels.
        guesses = [g for k in range(1, 5) for s in "lr"
                   if (g := prior(f"anterior_foramen_s{k}_{s}")) is not None]
        if guesses:
            chosen = [p for p in chosen
                      if min(np.linalg.norm(p[1] - g) for g in guesses) < 45.0
                      or min(np.linalg.norm(p[2] - g) for g in guesses) < 45.0]
    out: dict[str, np.ndarray] = {}
    chosen.sort(key=lambda p: -(p[1][2] + p[2][2]))
    for k, p in enumerate(chosen[:4], start=1):
        out[f"anterior_foramen_s{k}_l"] = p[1]
        out[f"anterior_foramen_s{k}_r"] = p[2]
    return out


def sacral_canal(sacrum: TriMesh, frame: SacralFrame, prom: np.ndarray,
                 step: float = 1.0) -> list[tuple[float, np.ndarray, np.ndarray | None]]:
    """The sacral canal on the midline, from the base down: (position along the axis, canal
    centre, inner surface of the posterior wall or None where the wall is missing).

    Rays cross the midline perpendicular to the sacral axis, from the pelvis backwards; where a
    ray meets bone, a gap, then bone again, the gap is the canal.
    """
    surf = Surface(sacrum)
    pts = sacrum.points
    along = (pts - frame.centre) @ frame.axis
    top = float((prom - frame.centre) @ frame.axis)
    bottom = float(along.min())
    across = (pts - frame.centre) @ frame.normal
    reach = float(np.abs(across).max()) + 20.0
    out = []
    for s in np.arange(top - 2.0, bottom, -step):
        c = frame.centre + s * frame.axis
        c[0] = frame.midline_x
        start = c - reach * frame.normal
        hits = surf.ray_hits(start, c + reach * frame.normal)
        if len(hits) >= 4:
            gap = hits[1], hits[2]
            if gap[1] - gap[0] > 2.0:
                centre = start + frame.normal * (gap[0] + gap[1]) / 2
                wall = start + frame.normal * gap[1]
                out.append((float(s), centre, wall))
                continue
        if len(hits) >= 2:
            out.append((float(s), start + frame.normal * (hits[1] + 3.0), None))
    return out


def canal_run(canal: list[tuple[float, np.ndarray, np.ndarray | None]],
              min_length: float = 20.0) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """The longest run of consecutive levels with a canal, if it is at least ``min_length``
    mm long (a few stray gaps between bony processes are not a canal)."""
    best: list = []
    run: list = []
    for entry in canal:
        if entry[2] is not None:
            run.append(entry)
            if len(run) > len(best):
                best = list(run)
        else:
            run = []
    if len(best) < 2 or best[0][0] - best[-1][0] < min_length:
        return []
    return best


# -- hip bone -------------------------------------------------------------------------------
def _sphere_fit(x: np.ndarray) -> tuple[np.ndarray, float]:
    a = np.column_stack([2 * x, np.ones(len(x))])
    b = (x * x).sum(axis=1)
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    c = sol[:3]
    return c, float(np.sqrt(max(sol[3] + c @ c, 0.0)))


def acetabulum(hip: TriMesh, sign: float, res: float = 1.0) -> tuple[np.ndarray, float] | None:
    """Centre of the acetabular cup (the femoral head centre) and its radius.

    The cup is the largest deep pit seen from lateral, anterior and below (where it faces);
    the obturator foramen, a hole, is told apart because almost nothing is seen through the
    cup, and other pits (the iliac fossa) because a sphere fits them worse.
    """
    c = surface_centroid(hip)
    w = np.array([-sign, 0.35, 0.5])
    view = View.looking(c, w, np.array([0.0, 0.0, 1.0]), float(np.ptp(hip.points, 0).max()) / 2
                        + 20, res)
    z = depth_image(hip, view)
    seen = np.isfinite(z)
    if not seen.any():
        return None
    d = np.where(seen, z, z[seen].max() + 30.0)
    k = int(round(80.0 / res)) | 1
    labels, n = label(d - max_filter(min_filter(d, k), k) > 8.0)
    rows, cols = view.shape
    best: tuple[float, np.ndarray, float] | None = None
    for i in range(1, n + 1):
        rr, cc = np.nonzero(labels == i)
        if rr.min() == 0 or cc.min() == 0 or rr.max() == rows - 1 or cc.max() == cols - 1:
            continue
        if seen[rr, cc].mean() < 0.75 or len(rr) * res * res < 300.0:
            continue
        keep = seen[rr, cc]  # a thin acetabular floor may let light through: fit the walls
        rr, cc = rr[keep], cc[keep]
        pts = np.array([view.point(r, c_, z[r, c_]) for r, c_ in zip(rr, cc, strict=True)])
        centre, radius = _sphere_fit(pts)
        if not 12.0 < radius < 40.0:
            continue
        misfit = float(np.sqrt(np.mean((np.linalg.norm(pts - centre, axis=1) - radius) ** 2)))
        score = misfit / radius  # the cup is the pit most like a piece of a sphere
        if best is None or score < best[0]:
            best = (score, centre, radius)
    if best is None:
        return None
    return best[1], best[2]


def sciatic_notch(hip: TriMesh, sign: float, res: float = 1.0) -> np.ndarray | None:
    """The deepest point of the greater sciatic notch.

    Seen from the side, the hip bone's posterior border runs from the posterior iliac spines
    down to the ischial tuberosity; the greater sciatic notch is its deepest concavity, measured
    from the border's convex envelope.
    """
    c = surface_centroid(hip)
    half = float(np.ptp(hip.points, 0).max()) / 2 + 20
    view = View.looking(c, np.array([-sign, 0.0, 0.0]), np.array([0.0, 0.0, 1.0]), half, res)
    z = depth_image(hip, view)
    seen = np.isfinite(z)
    post = 1.0 if view.u[1] > 0 else -1.0  # which way the columns run
    prof = []
    for r in range(view.shape[0]):
        cs = np.nonzero(seen[r])[0]
        if len(cs):
            prof.append((r, cs.max() if post > 0 else cs.min()))
    if len(prof) < 10:
        return None
    p = np.array(prof, float)
    rows, y = p[:, 0], post * p[:, 1]  # y: posterior-ness in pixels
    hull: list[tuple[float, float]] = []
    for q in zip(rows, y, strict=True):
        while len(hull) >= 2:
            (ax, ay), (bx, by) = hull[-2], hull[-1]
            if (bx - ax) * (q[1] - ay) - (by - ay) * (q[0] - ax) >= 0:
                hull.pop()
            else:
                break
        hull.append(q)
    hx = np.array([h[0] for h in hull])
    hy = np.array([h[1] for h in hull])
    gap = np.interp(rows, hx, hy) - y
    i = int(np.argmax(gap))
    if gap[i] * res < 10.0:
        return None
    r, col = int(rows[i]), int(p[i, 1])
    return view.point(r, col, z[r, col])


def ischial_spine(hip: TriMesh, sign: float, midline_x: float, acet: np.ndarray,
                  notch: np.ndarray) -> np.ndarray | None:
    """The ischial spine: the most medial point of the hip bone behind the acetabulum, between
    a little below the acetabular centre and the notch."""
    p = hip.points
    sel = p[(p[:, 1] > acet[1]) & (p[:, 2] > acet[2] - 35.0) & (p[:, 2] < notch[2] - 10.0)]
    if not len(sel):
        return None
    return sel[int(np.argmin(sign * (sel[:, 0] - midline_x)))].copy()


def pubic_symphysis(hip_l: TriMesh, hip_r: TriMesh, acet_l: np.ndarray,
                    acet_r: np.ndarray) -> np.ndarray:
    """Midpoint of the closest approach of the two pubic bones, in front of the acetabula."""
    a = hip_l.points[hip_l.points[:, 1] < acet_l[1]]
    b = hip_r.points[hip_r.points[:, 1] < acet_r[1]]
    a = a[np.argsort(a[:, 0])[:500]]
    b = b[np.argsort(-b[:, 0])[:500]]
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    i, j = np.unravel_index(int(d.argmin()), d.shape)
    return (a[i] + b[j]) / 2


def iliac_crest(hip: TriMesh) -> np.ndarray:
    """The highest point of the iliac crest."""
    return hip.points[int(np.argmax(hip.points[:, 2]))].copy()


# -- all of them ----------------------------------------------------------------------------
def body_frame(bones: dict[str, TriMesh]) -> tuple[np.ndarray, np.ndarray]:
    """(rotation, origin) of the body: rows of the rotation are left, posterior, superior.

    Left is the line between the hip bones' centres, so an atlas turned or tilted a little in
    its file is measured in its own anatomical frame; without both hip bones, the file's.
    """
    hl, hr = bones.get("hip_l"), bones.get("hip_r")
    if hl is None or hr is None:
        some = next(iter(bones.values()), None)
        origin = surface_centroid(some) if some is not None else np.zeros(3)
        return np.eye(3), origin
    cl, cr = surface_centroid(hl), surface_centroid(hr)
    left = (cl - cr) / np.linalg.norm(cl - cr)
    up = np.array([0.0, 0.0, 1.0]) - left[2] * left
    up /= np.linalg.norm(up)
    back = np.cross(up, left)
    return np.vstack([left, back, up]), (cl + cr) / 2


def detect(bones: dict[str, TriMesh], organs: dict[str, TriMesh],
           prior: Callable[[dict[str, np.ndarray]], Prior | None] | None = None) -> Detection:
    """Every landmark the given bones and organs allow (LPS mm, the meshes' frame).

    ``bones`` may hold sacrum, hip_l, hip_r, coccyx; ``organs`` prostate. ``prior``, given the
    robust landmarks found first, returns predicted positions for the rest (or None). The
    detectors run in the body's own frame (:func:`body_frame`).
    """
    rot, origin = body_frame(bones)

    def inward(m: TriMesh) -> TriMesh:
        return TriMesh((m.points - origin) @ rot.T, m.faces)

    def outward(p: np.ndarray) -> np.ndarray:
        return np.asarray(p, float) @ rot + origin

    found = _detect({k: inward(m) for k, m in bones.items()},
                    {k: inward(m) for k, m in organs.items()},
                    None if prior is None else _prior_in_frame(prior, rot, origin, outward))
    det = Detection(missing=found.missing)
    for name, p in found.points.items():
        det.add(name, outward(p), found.how[name])
    return det


def _prior_in_frame(prior, rot, origin, outward):
    def wrapped(points: dict[str, np.ndarray]):
        guess = prior({k: outward(v) for k, v in points.items()})
        if guess is None:
            return None

        def inner(name: str):
            g = guess(name)
            return None if g is None else (np.asarray(g, float) - origin) @ rot.T

        return inner

    return wrapped


def _detect(bones: dict[str, TriMesh], organs: dict[str, TriMesh],
            prior: Callable[[dict[str, np.ndarray]], Prior | None] | None) -> Detection:
    det = Detection()
    hips = {s: bones.get(f"hip_{s}") for s, _ in SIDES}
    sacrum = bones.get("sacrum")
    if hips["l"] is not None and hips["r"] is not None:
        midline = float((surface_centroid(hips["l"])[0] + surface_centroid(hips["r"])[0]) / 2)
    elif sacrum is not None:
        midline = None
    else:
        midline = 0.0
    acets: dict[str, np.ndarray] = {}
    for s, sign in SIDES:
        hip = hips[s]
        if hip is None:
            for n in ("acetabulum", "greater_sciatic_notch", "ischial_spine", "iliac_crest"):
                det.miss(f"{n}_{s}", f"no hip_{s} in the atlas")
            continue
        cup = acetabulum(hip, sign)
        if cup is None:
            det.miss(f"acetabulum_{s}", "no cup found on the hip bone")
        else:
            acets[s] = cup[0]
            det.add(f"acetabulum_{s}", cup[0],
                    f"sphere fitted to the acetabular cup (radius {cup[1]:.1f} mm)")
        notch = sciatic_notch(hip, sign)
        if notch is None:
            det.miss(f"greater_sciatic_notch_{s}", "no concavity on the posterior border")
        else:
            det.add(f"greater_sciatic_notch_{s}", notch,
                    "deepest point of the posterior border's concavity, seen from the side")
        if notch is not None and s in acets:
            mid = midline if midline is not None else float(surface_centroid(sacrum)[0])
            spine = ischial_spine(hip, sign, mid, acets[s], notch)
            if spine is not None:
                det.add(f"ischial_spine_{s}", spine,
                        "most medial point behind the acetabulum, below the notch")
        det.add(f"iliac_crest_{s}", iliac_crest(hip), "highest point of the hip bone")
    if len(acets) == 2:
        det.add("pubic_symphysis", pubic_symphysis(hips["l"], hips["r"], acets["l"], acets["r"]),
                "midpoint of the closest approach of the two pubic bones")
    if sacrum is not None:
        frame = sacral_frame(sacrum, midline)
        prom = promontory(sacrum, frame)
        det.add("sacral_promontory", prom, "anterior-superior point of S1 on the midline")
        guess = prior(det.points) if prior is not None else None
        foramina = anterior_foramina(sacrum, frame, prom, guess)
        for name, p in foramina.items():
            det.add(name, p, "opening on the pelvic surface of the sacrum, paired left/right")
        for k in range(1, 5):
            for s in "lr":
                if f"anterior_foramen_s{k}_{s}" not in foramina:
                    det.miss(f"anterior_foramen_s{k}_{s}", "not found among the sacral openings")
    else:
        det.miss("sacral_promontory", "no sacrum in the atlas")
    coccyx = bones.get("coccyx")
    if coccyx is not None:
        det.add("coccyx_tip", coccyx.points[int(np.argmin(coccyx.points[:, 2]))],
                "lowest point of the coccyx")
    prostate = organs.get("prostate")
    if prostate is not None:
        det.add("prostate_bed", surface_centroid(prostate), "centre of the prostate")
    return det


def vertebral_canal(vertebra: TriMesh, res: float = 0.75) -> np.ndarray | None:
    """Centre of a vertebra's vertebral foramen, at the vertebra's mid-height.

    Seen from above (tilted in the sagittal plane to follow the spine's curve), the foramen is
    the largest hole that nothing is seen through, near the midline behind the body.
    """
    c = surface_centroid(vertebra)
    half = float(np.ptp(vertebra.points, 0).max()) / 2 + 10
    best: tuple[float, np.ndarray] | None = None
    for tilt in (-20, 0, 20):
        t = np.radians(tilt)
        w = np.array([0.0, np.sin(t), -np.cos(t)])  # looking down
        view = View.looking(c, w, np.array([0.0, -1.0, 0.0]), half, res)
        z = depth_image(vertebra, view)
        labels, n = label(~np.isfinite(z))
        rows, cols = view.shape
        for i in range(1, n + 1):
            rr, cc = np.nonzero(labels == i)
            if rr.min() == 0 or cc.min() == 0 or rr.max() == rows - 1 or cc.max() == cols - 1:
                continue
            area = len(rr) * res * res
            if area < 40.0 or (best is not None and area <= best[0]):
                continue
            p = view.point(rr.mean(), cc.mean(), float((c - view.origin) @ view.w))
            if abs(p[0] - c[0]) < 15.0:
                best = (area, p)
    return None if best is None else best[1]


def sacral_depths(sacrum: TriMesh, foramina: dict[str, np.ndarray],
                  frame: SacralFrame | None = None) -> dict[str, np.ndarray]:
    """The sacrum's thickness on the midline, level with each pair of anterior foramina.

    For S``k``: ``sacral_mid_s{k}`` (halfway between the pelvic and dorsal surfaces) and
    ``sacral_dorsum_s{k}`` (the dorsal surface), along the sacrum's sagittal normal through the
    midpoint of the two foramina. Measured the same way on the model and on an atlas, these
    place the sacral canal inside the real bone even where the atlas has no canal.
    """
    frame = frame or sacral_frame(sacrum)
    surf = Surface(sacrum)
    out: dict[str, np.ndarray] = {}
    for k in range(1, 5):
        a, b = foramina.get(f"anterior_foramen_s{k}_l"), foramina.get(f"anterior_foramen_s{k}_r")
        if a is None or b is None:
            continue
        p = (a + b) / 2
        start = p - 60.0 * frame.normal
        hits = surf.ray_hits(start, p + 120.0 * frame.normal)
        if len(hits) < 2:
            continue
        front, back = start + hits[0] * frame.normal, start + hits[-1] * frame.normal
        out[f"sacral_mid_s{k}"] = (front + back) / 2
        out[f"sacral_dorsum_s{k}"] = back
    return out


def foramen_axis(surface: Surface, centre: np.ndarray, into: np.ndarray,
                 cone: float = 55.0) -> tuple[np.ndarray, float]:
    """The direction of a foramen's channel from its anterior opening into the bone, and how
    far it stays free of bone (mm, up to 40): the direction within ``cone`` degrees of
    ``into`` that runs longest without meeting bone."""
    into = np.asarray(into, float) / np.linalg.norm(into)
    helper = np.array([1.0, 0.0, 0.0]) if abs(into[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(into, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(into, e1)
    best = (into, 0.0)
    for tilt in np.radians(np.arange(0.0, cone + 1, 5.0)):
        for turn in np.radians(np.arange(0.0, 360.0, 20.0 if tilt else 360.0)):
            d = np.cos(tilt) * into + np.sin(tilt) * (np.cos(turn) * e1 + np.sin(turn) * e2)
            hits = surface.ray_hits(centre + 0.5 * d, centre + 40.0 * d)
            free = float(hits[0]) + 0.5 if len(hits) else 40.0
            if free > best[1] + 0.5:
                best = (d, free)
    return best
