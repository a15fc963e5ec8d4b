"""The measurements the procedural pelvis is built from (LPS mm, origin at the sacral promontory).

Positions and sizes were calibrated against published adult-male proportions and the bounding
boxes of the BodyParts3D reference (sizes and positions only; no reference geometry is used).
Everything here is given for the LEFT side (+x); right-side structures are mirror images.

The sacrum is described in its own curved coordinates: ``a`` is arc length (mm) down the
midline of its anterior (pelvic) surface from the promontory, ``s`` the depth behind that
surface (into bone) and ``x`` the usual left-right coordinate. :func:`sacral_point` maps
(a, s, x) to scene space and :func:`sacral_coords` maps back.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

MIRROR = np.array([-1.0, 1.0, 1.0])


def mirror(p: np.ndarray) -> np.ndarray:
    return np.asarray(p, dtype=np.float64) * MIRROR


def catmull_rom(ctrl: np.ndarray, step: float = 1.0) -> np.ndarray:
    """Centripetal Catmull-Rom spline through every control point, sampled every ~``step`` mm."""
    ctrl = np.asarray(ctrl, dtype=np.float64)
    if len(ctrl) == 2:
        n = max(int(np.ceil(np.linalg.norm(ctrl[1] - ctrl[0]) / step)), 1)
        t = np.linspace(0.0, 1.0, n + 1)[:, None]
        return ctrl[0] + t * (ctrl[1] - ctrl[0])
    p = np.vstack([2 * ctrl[0] - ctrl[1], ctrl, 2 * ctrl[-1] - ctrl[-2]])
    out = [ctrl[:1]]
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        t0 = 0.0
        t1 = t0 + np.linalg.norm(p1 - p0) ** 0.5 + 1e-9
        t2 = t1 + np.linalg.norm(p2 - p1) ** 0.5 + 1e-9
        t3 = t2 + np.linalg.norm(p3 - p2) ** 0.5 + 1e-9
        n = max(int(np.ceil(np.linalg.norm(p2 - p1) / step)), 1)
        t = np.linspace(t1, t2, n + 1)[1:][:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    return np.vstack(out)


def arclength(pts: np.ndarray) -> np.ndarray:
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


# ---------------------------------------------------------------- sacrum (curved coordinates)
# Midline of the anterior sacral surface, (y, z) from the promontory to the apex.
SACRAL_ANTERIOR_YZ = np.array(
    [
        [0.0, 0.0],
        [9.0, -8.0],
        [22.0, -17.0],
        [38.0, -27.0],
        [51.0, -37.0],
        [59.0, -48.0],
        [63.0, -62.0],
        [65.0, -78.0],
        [64.0, -93.0],
        [61.0, -105.0],
        [57.0, -116.0],
    ]
)
# Segment boundaries, as heights (z) of the anterior midline: S1/S2, S2/S3, S3/S4, S4/S5.
SACRAL_JUNCTION_Z = (-24.0, -46.0, -67.0, -87.0)
# Normal of the S1 superior end plate (sacral slope 30 degrees).
S1_PLATE_NORMAL = np.array([0.0, -np.sin(np.radians(30.0)), np.cos(np.radians(30.0))])


@lru_cache(maxsize=1)
def _sacral_curve() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    yz = catmull_rom(SACRAL_ANTERIOR_YZ, 0.5)
    a = arclength(yz)
    t = np.gradient(yz, a, axis=0)
    t /= np.linalg.norm(t, axis=1)[:, None]
    n = np.column_stack([-t[:, 1], t[:, 0]])  # posterior (into bone)
    return yz, a, t, n


def sacral_length() -> float:
    return float(_sacral_curve()[1][-1])


def sacral_a_at_z(z: float) -> float:
    yz, a, _, _ = _sacral_curve()
    return float(np.interp(-z, -yz[:, 1], a))


def junction_a() -> tuple[float, ...]:
    return tuple(sacral_a_at_z(z) for z in SACRAL_JUNCTION_Z)


def sacral_point(
    a: float | np.ndarray, s: float | np.ndarray = 0.0, x: float | np.ndarray = 0.0
) -> np.ndarray:
    """Scene point(s) at curved sacral coordinates; ``a`` beyond the ends extrapolates straight."""
    yz, arc, t, n = _sacral_curve()
    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    s = np.broadcast_to(np.asarray(s, dtype=np.float64), a.shape)
    x = np.broadcast_to(np.asarray(x, dtype=np.float64), a.shape)
    ac = np.clip(a, 0.0, arc[-1])
    cy = np.interp(ac, arc, yz[:, 0])
    cz = np.interp(ac, arc, yz[:, 1])
    ty = np.interp(ac, arc, t[:, 0])
    tz = np.interp(ac, arc, t[:, 1])
    ext = a - ac
    cy = cy + ext * ty
    cz = cz + ext * tz
    # normal = tangent rotated +90 degrees in (y, z)
    tn = np.hypot(ty, tz)
    ny, nz = -tz / tn, ty / tn
    out = np.column_stack([x, cy + s * ny, cz + s * nz])
    return out[0] if out.shape[0] == 1 and np.ndim(a) == 1 and len(a) == 1 else out


def sacral_coords(y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, s) for points given by (y, z); vectorised, brute force over the sampled curve."""
    yz, arc, t, n = _sacral_curve()
    y = np.asarray(y, dtype=np.float64).ravel()
    z = np.asarray(z, dtype=np.float64).ravel()
    best = np.full(y.shape, np.inf)
    idx = np.zeros(y.shape, dtype=np.int64)
    # coarse-to-fine: the curve is sampled every 0.5 mm, use every 4th sample then refine
    coarse = np.arange(0, len(yz), 4)
    for i in coarse:
        d = (y - yz[i, 0]) ** 2 + (z - yz[i, 1]) ** 2
        m = d < best
        best[m] = d[m]
        idx[m] = i
    best[:] = np.inf
    fine = idx.copy()
    for off in range(-4, 5):
        j = np.clip(idx + off, 0, len(yz) - 1)
        d = (y - yz[j, 0]) ** 2 + (z - yz[j, 1]) ** 2
        m = d < best
        best[m] = d[m]
        fine[m] = j[m]
    dy = y - yz[fine, 0]
    dz = z - yz[fine, 1]
    along = dy * t[fine, 0] + dz * t[fine, 1]
    a = arc[fine] + along
    # inside the curve, a small tangential residual is sampling error; beyond the ends it is real
    inner = (fine > 0) & (fine < len(yz) - 1)
    a = np.where(inner, arc[fine] + np.clip(along, -0.5, 0.5), a)
    s = dy * n[fine, 0] + dz * n[fine, 1]
    return a, s


def _table(pairs: list[tuple[float, float]]):
    xs = np.array([p[0] for p in pairs])
    ys = np.array([p[1] for p in pairs])

    def f(a):
        return np.interp(a, xs, ys)

    return f


# Profiles along the sacrum, by arc length a (mm). They are rescaled to the curve length.
def _scaled(pairs: list[tuple[float, float]]):
    def f(a):
        L = sacral_length()
        return np.interp(a, [p[0] * L for p in pairs], [p[1] for p in pairs])

    return f


sacral_half_width = _scaled(
    [(0.0, 53.0), (0.15, 52.0), (0.3, 48.0), (0.45, 42.0), (0.55, 36.0), (0.65, 27.0)]
    + [(0.8, 21.0), (1.0, 8.0)]
)
sacral_thickness = _scaled(
    [(0.0, 50.0), (0.25, 42.0), (0.45, 30.0), (0.62, 24.0), (0.8, 18.0), (1.0, 11.0)]
)
sacral_body_depth = _scaled(
    [(0.0, 29.0), (0.25, 24.0), (0.45, 16.0), (0.62, 12.0), (0.8, 9.0), (1.0, 7.0)]
)
canal_half_width = _scaled(
    [(0.0, 13.0), (0.25, 12.0), (0.45, 10.0), (0.62, 8.0), (0.8, 7.0), (1.0, 5.0)]
)
canal_half_ap = _scaled([(0.0, 8.0), (0.25, 7.0), (0.45, 5.0), (0.62, 4.5), (0.8, 4.0), (1.0, 3.0)])


def canal_centre_s(a):
    return sacral_body_depth(a) + canal_half_ap(a)


# Anterior foramina: lateral offset and opening radius for S1..S4.
FORAMEN_X = (27.0, 24.0, 20.0, 15.5)
FORAMEN_R = (5.5, 4.8, 4.0, 3.3)
HIATUS_FRACTION = 0.74  # the canal's posterior wall is absent below this fraction of the length


def anterior_foramen(level: int) -> np.ndarray:
    """Centre of the left anterior foramen of S``level`` (1-4), at the pelvic surface."""
    a = junction_a()[level - 1]
    return sacral_point(a, 1.0, FORAMEN_X[level - 1])


# ---------------------------------------------------------------- lumbar spine
# Vertebral bodies: centre (y, z), tilt from vertical (degrees, + = top leans forward),
# height, half width, half depth.
VERTEBRAE = {
    "l1": ((-4.5, 164.0), -6.0, 24.0, 22.0, 15.0),
    "l2": ((-6.0, 131.8), -4.0, 26.0, 23.0, 16.0),
    "l3": ((-7.0, 97.8), 0.0, 26.0, 24.0, 17.0),
    "l4": ((-4.7, 64.4), 8.0, 27.0, 25.0, 17.5),
    "l5": ((3.6, 30.7), 20.0, 26.0, 26.0, 18.0),
}


def vertebra_frame(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre, up, anterior) of a lumbar vertebral body."""
    (cy, cz), tilt, *_ = VERTEBRAE[name]
    th = np.radians(tilt)
    up = np.array([0.0, -np.sin(th), np.cos(th)])
    ant = np.array([0.0, -np.cos(th), -np.sin(th)])
    return np.array([0.0, cy, cz]), up, ant


def canal_centre_lumbar(name: str) -> np.ndarray:
    c, up, ant = vertebra_frame(name)
    half_depth = VERTEBRAE[name][4]
    return c - ant * (half_depth + 8.5)


# ---------------------------------------------------------------- hip bone (left)
HIP = {
    "asis": (117.0, -56.0, 0.0),
    "psis": (44.0, 80.0, 5.0),
    "piis": (50.0, 58.0, -30.0),
    "crest_top": (100.0, 20.0, 61.0),
    "acetabulum": (90.0, 2.0, -82.0),
    "ischial_spine": (40.0, 50.0, -80.0),
    "ischial_tuberosity": (56.0, 48.0, -132.0),
    "pubic_tubercle": (20.0, -55.0, -97.0),
    "symphysis": (5.0, -38.0, -108.0),
    "sciatic_notch": (62.0, 34.0, -52.0),
}

# Coccyx: fused segments continuing the sacral curve, tip last.
COCCYX_CTRL = np.array(
    [[0.0, 60.0, -118.0], [0.0, 61.0, -126.0], [0.0, 60.0, -133.0], [0.0, 57.0, -139.0]]
)

# ---------------------------------------------------------------- organs
PROSTATE_CENTRE = np.array([0.0, 8.0, -126.0])
BLADDER_CENTRE = np.array([0.0, -3.0, -88.0])


def landmarks_left_midline() -> dict[str, np.ndarray]:
    """Landmarks computed from the atlas; left-sided names end in ``_l``."""
    L = sacral_length()
    ja = junction_a()
    out: dict[str, np.ndarray] = {
        "sacral_promontory": np.zeros(3),
        "sacral_hiatus": sacral_point(L * 0.84, canal_centre_s(L * 0.84) + 6.0, 0.0),
        "sacral_canal_s1_s2": sacral_point(ja[0], canal_centre_s(ja[0]), 0.0),
        "pubic_symphysis": np.array([0.0, HIP["symphysis"][1], HIP["symphysis"][2]]),
        "prostate_bed": PROSTATE_CENTRE.copy(),
        "coccyx_tip": COCCYX_CTRL[-1].copy(),
    }
    for k in range(1, 5):
        out[f"anterior_foramen_s{k}_l"] = anterior_foramen(k)
    out["greater_sciatic_notch_l"] = np.array(HIP["sciatic_notch"])
    out["ischial_spine_l"] = np.array(HIP["ischial_spine"])
    out["acetabulum_l"] = np.array(HIP["acetabulum"])
    out["iliac_crest_l"] = np.array(HIP["crest_top"])
    return out
