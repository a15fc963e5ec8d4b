"""Carrying the procedural nerves, meninges and routes onto an atlas's real bones.

The model (``app.anatomy``, via a loaded scene) defines its nerves relative to landmarks. The
same landmarks, found on the atlas (or given in a file), define a thin-plate-spline warp from
model space to atlas space. Warped centrelines are then corrected against the real bones:

1. each S1-S4 ramus is bent (a smooth local bump) so it passes through the centre of its
   real anterior foramen;
2. any centreline point that lands inside a real bone (or, with less priority, an organ or
   muscle) is pushed out to the nearest free space, and the path is smoothed locally;
3. junctions (a ramus ending on the plexus, the sciatic nerve starting where the plexus ends)
   are closed again.

Some atlases model the sacrum as solid bone, without its canal (BodyParts3D does): the dural
sac, cauda equina and the roots inside the canal must then run through that bone. Such points
are left where the warp puts them and reported as ``in_solid_canal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.atlas.importer import Atlas
from app.atlas.landmarks import (
    Detection,
    canal_run,
    detect,
    foramen_axis,
    sacral_canal,
    sacral_depths,
    sacral_frame,
    surface_centroid,
    vertebral_canal,
)
from app.atlas.surface import Surface, Surfaces
from app.atlas.tps import ThinPlateSpline, apply_matrix, fit_similarity
from app.model.mesh import NervePath, TriMesh
from app.model.scene import Scene

BONE_ROLES = ("sacrum", "hip_l", "hip_r", "vertebra", "coccyx", "disc")
SOFT_ROLES = ("prostate", "bladder", "rectum")
SOFT_IDS = ("seminal_vesicle_l", "seminal_vesicle_r", "seminal_vesicles", "piriformis_l",
            "piriformis_r", "urethra")
CANAL_PATHS = ("dural_sac", "cauda_equina", "conus_medullaris")
# Landmarks steady enough to fit a first, rigid-plus-scale alignment (used as a prior).
ROBUST = ("sacral_promontory", "pubic_symphysis", "acetabulum_l", "acetabulum_r",
          "greater_sciatic_notch_l", "greater_sciatic_notch_r", "ischial_spine_l",
          "ischial_spine_r", "iliac_crest_l", "iliac_crest_r")
JOIN_MM = 1.0  # a path end this close to another path is a junction
AGREE_MM = 4.0  # a detector and the model's definition of a landmark agree within this
OUTLIER_MM = 40.0  # a detection this far from the others' rigid-plus-scale fit is dropped


@dataclass
class FitResult:
    """The model carried onto the atlas, and how well it went."""

    warp: ThinPlateSpline
    similarity: np.ndarray  # 4x4 model -> atlas, the best rigid-plus-scale fit
    pairs: list[str]  # landmark names that drive the warp
    landmarks: dict[str, np.ndarray]  # every landmark, in atlas space
    origin: dict[str, str]  # landmark -> how it was obtained
    paths: dict[str, NervePath]
    solid_sacrum: bool
    in_solid_canal: dict[str, int] = field(default_factory=dict)  # path -> points left in bone
    pushed: dict[str, int] = field(default_factory=dict)  # path -> points pushed out of bone
    foramen_error: dict[str, float] = field(default_factory=dict)  # ramus -> mm after snapping
    notes: list[str] = field(default_factory=list)
    detection: Detection | None = None

    def mesh(self, mesh: TriMesh) -> TriMesh:
        """A model surface carried into atlas space."""
        return TriMesh(self.warp(mesh.points), mesh.faces.copy(),
                       {k: v.copy() for k, v in mesh.point_data.items()})

    def point(self, p: np.ndarray) -> np.ndarray:
        return self.warp(np.asarray(p, float)[None, :])[0]


def atlas_solids(atlas: Atlas, roles: tuple[str, ...], ids: tuple[str, ...] = ()) -> Surfaces:
    """Closed surfaces of the atlas playing the given roles (open ones cannot hold points)."""
    out = []
    for part in atlas.parts:
        if (part.entry.role in roles or part.id in ids) and part.entry.visible:
            if _is_closed(part.mesh):
                out.append(Surface(part.mesh, part.id))
    return Surfaces(out)


def _is_closed(mesh: TriMesh) -> bool:
    f = mesh.faces
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return bool(np.mean(counts == 2) > 0.999)


def model_pairs(atlas: Atlas, scene: Scene, model_lm: dict[str, np.ndarray],
                target: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Extra correspondences measured the same way on both sides: the sacrum's thickness at
    each foramen level, vertebral canals and centres, organ centres.
    ``{name: (model point, atlas point)}``."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    parts = atlas.by_id()
    sacrum = atlas.merged("sacrum")
    if sacrum is not None and "sacrum" in scene.nodes and scene.nodes["sacrum"].kind == "mesh":
        src = sacral_depths(scene.mesh("sacrum"), model_lm)
        dst = sacral_depths(sacrum, target)
        for name in src:
            if name in dst:
                out[name] = (src[name], dst[name])
    for v in ("l3", "l4", "l5"):
        if v in parts and v in scene.nodes and parts[v].entry.role == "vertebra":
            src_mesh, dst_mesh = scene.mesh(v), parts[v].mesh
            out[f"vertebra_centre_{v}"] = (surface_centroid(src_mesh),
                                           surface_centroid(dst_mesh))
            a, b = vertebral_canal(src_mesh), vertebral_canal(dst_mesh)
            if a is not None and b is not None:
                out[f"vertebral_canal_{v}"] = (a, b)
    for organ in ("bladder", "rectum"):
        merged = atlas.merged(organ)
        if merged is not None and organ in scene.nodes and scene.nodes[organ].kind == "mesh":
            out[f"{organ}_centre"] = (surface_centroid(scene.mesh(organ)),
                                      surface_centroid(merged))
    return out


def model_landmarks(scene: Scene) -> Detection:
    """The same detectors run on the model's own bones, so that each landmark pair of the
    warp is defined identically on both sides (the model's declared landmarks may follow a
    slightly different definition, such as a notch point where the nerve passes)."""
    bones = {r: scene.mesh(r) for r in ("sacrum", "hip_l", "hip_r", "coccyx")
             if r in scene.nodes and scene.nodes[r].kind == "mesh"}
    organs = {r: scene.mesh(r) for r in ("prostate",)
              if r in scene.nodes and scene.nodes[r].kind == "mesh"}
    return detect(bones, organs)


def fit(atlas: Atlas, scene: Scene, given: dict[str, np.ndarray] | None = None) -> FitResult:
    """Fit ``scene``'s nerves and landmarks (model space) to ``atlas`` (LPS mm).

    Landmarks found by the detectors on the atlas pair with the same detectors' results on the
    model; landmarks ``given`` (a file, atlas LPS mm) pair with the model's declared landmarks
    of the same name and take precedence.
    """
    declared = {k: np.asarray(v, float) for k, v in scene.landmarks.items()}
    on_model = model_landmarks(scene)
    model_lm = {**declared, **on_model.points}  # the model side of each pair
    bones = {r: m for r in ("sacrum", "hip_l", "hip_r", "coccyx")
             if (m := atlas.merged(r)) is not None}
    organs = {r: m for r in ("prostate",) if (m := atlas.merged(r)) is not None}
    given = {k: np.asarray(v, float) for k, v in (given or {}).items()}

    def prior(found: dict[str, np.ndarray]):
        names = [n for n in ROBUST if n in model_lm and (n in given or n in found)]
        if len(names) < 4:
            return None
        sim = fit_similarity(np.array([model_lm[n] for n in names]),
                             np.array([given.get(n, found.get(n)) for n in names]))
        return lambda name: (apply_matrix(sim, model_lm[name][None])[0]
                             if name in model_lm else None)

    det = detect(bones, organs, prior)
    rejected = _implausible(det, model_lm)
    target: dict[str, np.ndarray] = dict(det.points)
    origin = {k: f"detected: {v}" for k, v in det.how.items()}
    source = {k: model_lm[k] for k in target if k in model_lm}
    for k, v in given.items():
        target[k] = v
        origin[k] = "given in the landmark file"
        if k in declared:
            source[k] = declared[k]
    extra = model_pairs(atlas, scene, model_lm, target)
    pairs = [n for n in source if n in target]
    src = [source[n] for n in pairs] + [a for a, _ in extra.values()]
    dst = [target[n] for n in pairs] + [b for _, b in extra.values()]
    names = pairs + list(extra)
    if len(names) < 6:
        raise FitError(f"only {len(names)} landmarks could be matched "
                       f"({', '.join(names) or 'none'}); the fit needs at least 6 (a sacrum "
                       "and both hip bones, or a landmark file with --landmarks)")
    warp = ThinPlateSpline(np.array(src), np.array(dst))
    robust = [n for n in names if n in ROBUST] or names
    idx = [names.index(n) for n in robust]
    sim = fit_similarity(np.array(src)[idx], np.array(dst)[idx])
    # A landmark found on the atlas keeps its name where the detector agrees with the model's
    # own definition (checked on the model, within AGREE_MM); otherwise the name keeps the
    # model's meaning (carried by the warp) and the bone's point is kept as measured_<name>.
    landmarks: dict[str, np.ndarray] = {}
    for name, p in declared.items():
        same = name in given or (name in on_model.points and np.linalg.norm(
            on_model.points[name] - p) < AGREE_MM)
        if name in target and same:
            landmarks[name] = target[name]
            continue
        landmarks[name] = warp(p[None])[0]
        if name in target:
            landmarks[f"measured_{name}"] = target[name]
            origin[f"measured_{name}"] = origin[name]
            origin[name] = "carried by the warp (the model defines it differently from the bone)"
        else:
            origin[name] = "carried by the warp (not measurable on this atlas)"
    for name, (_, b) in extra.items():
        landmarks[name] = b
        origin[name] = "measured the same way on the model and the atlas"
    for name, p in target.items():
        landmarks.setdefault(name, p)
    model_paths = scene.nerves()
    paths = {nid: NervePath(warp(p.centreline), p.radius) for nid, p in model_paths.items()}
    result = FitResult(warp, sim, names, landmarks, origin, paths, solid_sacrum=False,
                       detection=det)
    result.notes += [f"{name} was found {dist:.0f} mm from where the other landmarks put it: "
                     "not used" for name, dist in rejected.items()]
    _correct(result, atlas, model_paths, declared)
    return result


def _implausible(det: Detection, model: dict[str, np.ndarray],
                 limit: float = OUTLIER_MM) -> dict[str, float]:
    """Drop detections far from where a rigid-plus-scale fit of all the others puts them
    (one at a time, worst first); a detector fooled by an odd shape must not bend the warp.
    Returns {name: distance} of those dropped (they are moved to ``det.missing``)."""
    out: dict[str, float] = {}
    while True:
        names = [n for n in det.points if n in model and n != "prostate_bed"]
        if len(names) < 6:
            return out
        src = np.array([model[n] for n in names])
        dst = np.array([det.points[n] for n in names])
        sim = fit_similarity(src, dst)
        res = np.linalg.norm(apply_matrix(sim, src) - dst, axis=1)
        worst = int(np.argmax(res))
        if res[worst] <= limit:
            return out
        name = names[worst]
        out[name] = float(res[worst])
        det.missing[name] = f"found {res[worst]:.0f} mm from where the other landmarks put it"
        del det.points[name]
        det.how.pop(name, None)


class FitError(ValueError):
    """The atlas does not carry enough recognisable anatomy to fit the model to it."""


# -- corrections ----------------------------------------------------------------------------
def _arclen(p: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])


def _bump(points: np.ndarray, index: int, delta: np.ndarray, sigma: float) -> np.ndarray:
    s = _arclen(points)
    w = np.exp(-0.5 * ((s - s[index]) / sigma) ** 2)
    return points + w[:, None] * delta[None, :]


def _smooth(points: np.ndarray, moved: np.ndarray, fixed: np.ndarray, rounds: int = 3):
    """Laplacian smoothing around moved points; ends and ``fixed`` points stay put."""
    pts = points.copy()
    near = moved.copy()
    for _ in range(2):
        near[1:] |= near[:-1]
        near[:-1] |= near[1:]
    near[0] = near[-1] = False
    near &= ~fixed
    for _ in range(rounds):
        avg = pts.copy()
        avg[1:-1] = 0.5 * pts[1:-1] + 0.25 * (pts[:-2] + pts[2:])
        pts[near] = avg[near]
    return pts


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0] - 1, strict=True))


def _detour(points: np.ndarray, first: int, last: int, solids: Surfaces, exempt: np.ndarray,
            fixed: np.ndarray, clearance: float) -> np.ndarray | None:
    """Bend the path smoothly sideways around the bone that points first..last are in.

    Tries sideways shifts (a bump that is flat over the run and fades over ~8 mm on either
    side) of growing size in eight directions across the path, the way the nearest bone
    surface points first; returns the first that leaves every point outside the bones.
    """
    n = len(points)
    lo, hi = max(first - 1, 0), min(last + 1, n - 1)
    tangent = points[hi] - points[lo]
    if np.linalg.norm(tangent) < 1e-9:
        return None
    tangent /= np.linalg.norm(tangent)
    near, _ = solids.closest(points[first:last + 1])
    out = (near - points[first:last + 1]).mean(axis=0)
    out -= (out @ tangent) * tangent
    if np.linalg.norm(out) < 1e-9:
        out = np.cross(tangent, [0.0, 0.0, 1.0] if abs(tangent[2]) < 0.9 else [1.0, 0.0, 0.0])
    e1 = out / np.linalg.norm(out)
    e2 = np.cross(tangent, e1)
    s = _arclen(points)
    dist = np.maximum(np.maximum(s[first] - s, s - s[last]), 0.0)
    weight = np.exp(-0.5 * (dist / 8.0) ** 2)
    weight[fixed | exempt] = 0.0
    weight[[0, -1]] = 0.0
    span = weight > 0.01
    if not span[first:last + 1].all():
        return None  # the run touches a point that must not move
    for size in (2.0, 4.0, 6.0, 9.0, 12.0, 16.0, 20.0, 25.0):
        for a in np.radians((0, 45, -45, 90, -90, 135, -135, 180)):
            d = np.cos(a) * e1 + np.sin(a) * e2
            trial = points + weight[:, None] * (size + clearance) * d
            if not solids.contains(trial[span]).any():
                return trial
    return None


def _push_out(points: np.ndarray, solids: Surfaces, exempt: np.ndarray, clearance: float,
              fixed: np.ndarray, smooth: bool = True) -> tuple[np.ndarray, int]:
    """Move the path out of the solids: runs of points inside bone are bent around it as a
    whole where possible (no zig-zags); what remains goes to the nearest surface."""
    pts = points.copy()
    moved_total = np.zeros(len(pts), bool)
    if smooth and solids.items:
        inside = solids.contains(pts) & ~exempt
        for first, last in _runs(inside):
            trial = _detour(pts, first, last, solids, exempt, fixed, clearance)
            if trial is not None:
                moved_total |= np.linalg.norm(trial - pts, axis=1) > 0.05
                pts = trial
    for _ in range(8):
        moved = np.zeros(len(pts), bool)
        for surf in solids.items:
            inside = surf.contains(pts) & ~exempt
            if not inside.any():
                continue
            near, _ = surf.closest(pts[inside])
            out = near - pts[inside]
            norm = np.linalg.norm(out, axis=1, keepdims=True)
            out = np.where(norm > 1e-9, out / np.maximum(norm, 1e-9), 0.0)
            pts[inside] = near + out * clearance
            moved |= inside
        if not moved.any():
            break
        moved_total |= moved
        if smooth:
            pts = _smooth(pts, moved, fixed | exempt)
    return pts, int(moved_total.sum())


def _through_channel(pts: np.ndarray, i: int, opening: np.ndarray, axis: np.ndarray,
                     depth: float) -> np.ndarray:
    """Re-route a root's first ``i`` points so it leaves its foramen along the channel.

    From the root's start (in the canal) a smooth curve reaches a point ``depth`` mm down the
    channel, then runs straight out through the opening, where the rest of the path begins.
    """
    start = pts[0]
    inner = opening + axis * depth
    span = float(np.linalg.norm(inner - start))
    t0 = pts[1] - pts[0]
    t0 = t0 / (np.linalg.norm(t0) or 1.0) * span * 0.6
    t1 = -axis * span * 0.6
    u = np.linspace(0.0, 1.0, 64)[:, None]
    h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
    h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
    curve = h00 * start + h10 * t0 + h01 * inner + h11 * t1
    line = inner + (opening - inner) * np.linspace(0.0, 1.0, 16)[1:, None]
    route = np.vstack([curve, line])
    s = _arclen(route)
    want = np.linspace(0.0, s[-1], i + 1)
    new = np.column_stack([np.interp(want, s, route[:, k]) for k in range(3)])
    out = pts.copy()
    out[: i + 1] = new
    return out


def _junctions(model: dict[str, NervePath]) -> list[tuple[str, int, str, int]]:
    """(path, end index, other path, index on other) for every path end lying on another path.

    Of two paths meeting end to end, the thinner (or, equally thick, the later) one moves.
    """
    out = []
    ids = list(model)
    for a in ids:
        pa = model[a].centreline
        for end in (0, len(pa) - 1):
            for b in ids:
                if b == a:
                    continue
                pb = model[b].centreline
                d = np.linalg.norm(pb - pa[end], axis=1)
                j = int(np.argmin(d))
                if d[j] > JOIN_MM:
                    continue
                b_end = j in (0, len(pb) - 1)
                if b_end and (model[a].radius, ids.index(a)) > (model[b].radius, ids.index(b)):
                    continue  # b's end moves onto a instead
                out.append((a, end, b, j))
    return out


def _correct(result: FitResult, atlas: Atlas, model: dict[str, NervePath],
             model_lm: dict[str, np.ndarray]) -> None:
    bones = atlas_solids(atlas, BONE_ROLES)
    soft = atlas_solids(atlas, SOFT_ROLES, SOFT_IDS)
    sacrum = atlas.merged("sacrum")
    if sacrum is not None:
        frame = sacral_frame(sacrum)
        prom = result.landmarks.get("sacral_promontory")
        walled = canal_run(sacral_canal(sacrum, frame, prom if prom is not None else
                                        sacrum.points[np.argmax(sacrum.points[:, 2])]))
        result.solid_sacrum = not walled
        if result.solid_sacrum:
            result.notes.append("the atlas sacrum is solid bone (no sacral canal): the dural sac "
                                "and the roots inside the canal run through it where the canal "
                                "would be")
    sac_surface = next((s for s in bones.items if s.name == "sacrum"), None)
    # Where each sacral ramus crosses its foramen, in model space (index on the centreline).
    foramen_index: dict[str, int] = {}
    for nid, p in model.items():
        for k in range(1, 5):
            for s in "lr":
                if nid == f"ramus_s{k}_{s}" and f"anterior_foramen_s{k}_{s}" in model_lm:
                    d = np.linalg.norm(p.centreline - model_lm[f"anterior_foramen_s{k}_{s}"],
                                       axis=1)
                    foramen_index[nid] = int(np.argmin(d))

    def snap(nid: str, pts: np.ndarray) -> np.ndarray:
        k, s = nid[7], nid[-1]
        target = result.landmarks.get(f"anterior_foramen_s{k}_{s}")
        if target is None or nid not in foramen_index:
            return pts
        i = foramen_index[nid]
        return _bump(pts, i, target - pts[i], sigma=7.0)

    if result.solid_sacrum and sac_surface is not None:
        normal = sacral_frame(sacrum).normal
        for nid, i in foramen_index.items():
            target = result.landmarks.get(f"anterior_foramen_s{nid[7]}_{nid[-1]}")
            if target is not None and i >= 3:
                pts = snap(nid, result.paths[nid].centreline)
                axis, free = foramen_axis(sac_surface, target, normal)
                result.paths[nid] = NervePath(
                    _through_channel(pts, i, target, axis, min(8.0, max(free - 2.0, 2.0))),
                    result.paths[nid].radius)
    joins = _junctions(model)
    for _ in range(2):
        for nid, path in list(result.paths.items()):
            pts = snap(nid, path.centreline)
            n = len(pts)
            fixed = np.zeros(n, bool)
            if nid in foramen_index:
                fixed[foramen_index[nid]] = True
            exempt = np.zeros(n, bool)
            if result.solid_sacrum and sac_surface is not None:
                if nid in CANAL_PATHS:
                    exempt[:] = True
                elif nid in foramen_index:
                    exempt[: foramen_index[nid]] = True
            clearance = min(path.radius, 2.0) + 0.5
            pts, _ = _push_out(pts, soft, exempt | fixed, 0.5 + min(path.radius, 1.5), fixed)
            pts, moved = _push_out(pts, bones, exempt, clearance, fixed)
            result.pushed[nid] = result.pushed.get(nid, 0) + moved
            result.paths[nid] = NervePath(pts, path.radius)
        for a, end, b, j in joins:
            pa = result.paths[a].centreline
            delta = result.paths[b].centreline[j] - pa[end]
            if np.linalg.norm(delta) > 1e-6:
                result.paths[a] = NervePath(_bump(pa, end, delta, sigma=6.0),
                                            result.paths[a].radius)
    # Last pass: no point may stay inside a bone (except in a solid sacrum's canal), and each
    # ramus goes exactly through its foramen.
    for nid, path in list(result.paths.items()):
        pts = snap(nid, path.centreline)
        fixed = np.zeros(len(pts), bool)
        exempt = np.zeros(len(pts), bool)
        if nid in foramen_index:
            fixed[foramen_index[nid]] = True
        if result.solid_sacrum and sac_surface is not None:
            if nid in CANAL_PATHS:
                exempt[:] = True
            elif nid in foramen_index:
                exempt[: foramen_index[nid]] = True
        pts, moved = _push_out(pts, bones, exempt, 0.5, fixed, smooth=False)
        result.pushed[nid] = result.pushed.get(nid, 0) + moved
        result.paths[nid] = NervePath(pts, path.radius)
        if exempt.any() and sac_surface is not None:
            result.in_solid_canal[nid] = int((sac_surface.contains(pts) & exempt).sum())
        if nid in foramen_index:
            k, s = nid[7], nid[-1]
            target = result.landmarks.get(f"anterior_foramen_s{k}_{s}")
            if target is not None:
                result.foramen_error[nid] = float(np.linalg.norm(pts - target, axis=1).min())
