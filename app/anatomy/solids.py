"""Signed-distance descriptions of bones, organs and muscles (left side; right = mirror).

Each entry of :data:`SOLIDS` gives the SDF, the box to mesh it in, the grid spacing and a
triangle budget. Holes a nerve really passes through (vertebral and sacral canals, sacral
foramina, intervertebral foramina) are carved along the same centrelines the nerves use, so
nerves lie in empty space there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import atlas as A
from . import sdf as S
from .nerves import paths

SP = A.sacral_point


@dataclass(frozen=True)
class Solid:
    sdf: Callable[[np.ndarray], np.ndarray]
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    spacing: float
    faces: int


def _absx(p: np.ndarray) -> np.ndarray:
    q = p.copy()
    q[:, 0] = np.abs(q[:, 0])
    return q


def _mirrored(f: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def g(p: np.ndarray) -> np.ndarray:
        return f(p * A.MIRROR)

    return g


def _path_chain(p: np.ndarray, pts: np.ndarray, r: float, every: int = 3) -> np.ndarray:
    sub = pts[::every]
    if len(sub) < 2 or not np.allclose(sub[-1], pts[-1]):
        sub = np.vstack([sub, pts[-1]])
    return S.chain(p, sub, r)


# ---------------------------------------------------------------- sacrum
def sacrum_sdf(p: np.ndarray) -> np.ndarray:
    q = _absx(p)
    x, y, z = q[:, 0], q[:, 1], q[:, 2]
    a, s = A.sacral_coords(y, z)
    L = A.sacral_length()
    bd = A.sacral_body_depth(a)
    recess = 0.28 * np.maximum(0.0, x - 19.0)
    # the fused bodies stand proud of the lateral parts, S1 (the promontory) most of all
    bulge = 2.5 * np.exp(-((x / 16.0) ** 2)) + 3.5 * np.clip(1.0 - a / 35.0, 0.0, 1.0) * np.exp(
        -((x / 17.0) ** 4)
    )
    front = recess - bulge - s
    back = s - A.sacral_thickness(a) - 0.15 * np.maximum(0.0, x - 30.0)
    side = x - A.sacral_half_width(a)
    bottom = a - L
    # the alae fall away from the S1 body in a smooth dome rather than a kinked shelf
    plate = q @ A.S1_PLATE_NORMAL + 0.016 * np.maximum(0.0, x - 14.0) ** 2
    zlim = 17.0 - 0.25 * (y - 30.0) - 0.15 * np.maximum(0.0, x - 25.0)
    top = np.where(s > bd + 2.0, np.maximum(plate, z - zlim), plate)
    # the base's anterior rim drops laterally along the alae towards the pelvic brim
    top = np.maximum(top, 0.016 * np.maximum(0.0, x - 14.0) ** 2 - a)
    d = S.smax(S.smax(front, back, 3.0), S.smax(side, bottom, 4.0), 3.0)
    d = S.smax(d, top, 5.0 + 0.12 * np.maximum(0.0, x - 16.0))  # rounder at the alae

    # median crest with spinous tubercles; S1 superior articular processes
    crest_a = np.linspace(18.0, 0.7 * L, 6)
    crest = S.chain(
        p, np.vstack([SP(ca, A.sacral_thickness(ca) + 1.0, 0.0) for ca in crest_a]), 3.5
    )
    d = S.smin(d, crest, 4.0)
    sap = S.capsule(q, [17.0, 44.0, 12.0], [18.0, 41.0, 27.0], 5.5, 4.5)
    d = S.smin(d, sap, 5.0)
    # transverse ridges between the fused bodies
    for ja in A.junction_a():
        ridge = S.capsule(q, SP(ja, -0.5, 0.0), SP(ja, -0.5 + 0.28 * 4.0, 14.0), 2.2)
        d = S.smin(d, ridge, 2.0)

    # sacral canal (elliptical, continuing the vertebral canal), open below at the hiatus
    wc = A.canal_half_width(a)
    hc = A.canal_half_ap(a)
    sc = A.canal_centre_s(a)
    canal = (np.sqrt((x / wc) ** 2 + ((s - sc) / hc) ** 2) - 1.0) * hc
    d = S.subtract(d, canal, 1.0)
    a_h = A.HIATUS_FRACTION * L
    hiatus = np.maximum(np.maximum(x - wc * 0.8, sc - s), a_h - a)
    d = S.subtract(d, hiatus, 1.5)

    # foramina: channel from the canal to the anterior (pelvic) and posterior openings
    ps = paths()
    for k in range(1, 5):
        af = A.junction_a()[k - 1]
        xf = A.FORAMEN_X[k - 1]
        rf = A.FORAMEN_R[k - 1]
        lat = SP(af - 4.0, A.canal_centre_s(af - 4.0), A.canal_half_width(af) - 4.5)
        mid = SP(af, A.sacral_body_depth(af) * 0.55, xf - 1.0)
        ant = SP(af, 1.0, xf)
        out = SP(af + 3.0, -9.0, xf + 3.0)
        chan = S.chain(q, np.vstack([lat, mid, ant, out]), rf)
        post = S.capsule(q, lat, SP(af - 3.0, A.sacral_thickness(af) + 6.0, xf - 6.0), rf * 0.8)
        d = S.subtract(d, S.smin(chan, post, 1.0), 1.5)
        # shallow groove leading laterally from the anterior opening, where the ramus runs
        groove = S.capsule(
            q, SP(af + 1.0, -0.8, xf + 0.5 * rf), SP(af + 5.0, -0.8, xf + 15.0), 0.6 * rf
        )
        d = S.subtract(d, groove, 1.5)
        # the root runs down inside the canal; keep its course clear
        root = ps[f"ramus_s{k}_l"].points
        d = S.subtract(d, _path_chain(q, root[:12], 1.6), 0.5)
    return d


def coccyx_sdf(p: np.ndarray) -> np.ndarray:
    c = A.COCCYX_CTRL
    d = S.chain(p, c, [7.0, 5.5, 4.5, 3.0], 1.0)
    q = _absx(p)
    for i, w in enumerate((14.0, 9.0, 6.0)):
        d = S.smin(
            d, S.capsule(q, c[i] * [0, 1, 1], c[i] * [0, 1, 1] + [w, 1.0, 0.0], 3.5 - 0.6 * i), 2.5
        )
    return d


# ---------------------------------------------------------------- lumbar vertebrae
_TP = {"l3": (40.0, 4.5, 0.0), "l4": (42.0, 5.0, 2.0), "l5": (47.0, 7.5, 6.0)}


def vertebra_sdf(name: str) -> Callable[[np.ndarray], np.ndarray]:
    c, up, ant = A.vertebra_frame(name)
    _, _, h, hw, hd = A.VERTEBRAE[name]
    ex = np.array([1.0, 0.0, 0.0])
    post = -ant
    rot = np.column_stack([ex, ant, up])
    tp_len, tp_r, tp_up = _TP[name]
    root_name = {"l4": "ramus_l4_l", "l5": "ramus_l5_l"}.get(name)

    def f(p: np.ndarray) -> np.ndarray:
        q = _absx(p)
        body = S.elliptic_cylinder(q, c, rot, hw, hd, h / 2.0, 2.5)
        # slightly waisted sides
        body = body + 1.2 * np.exp(-((((q - c) @ up) / (h * 0.3)) ** 2))
        P = lambda xx, pp, uu: c + ex * xx + post * pp + up * uu  # noqa: E731
        ped = S.capsule(q, P(11.0, hd - 5.0, h * 0.18), P(13.0, hd + 9.0, h * 0.2), 5.0)
        lam = S.chain(
            q,
            [P(13.0, hd + 9.0, h * 0.15), P(8.0, hd + 19.0, h * 0.05), P(0.0, hd + 22.0, 0.0)],
            4.5,
        )
        lam2 = S.chain(
            q,
            [
                P(13.0, hd + 10.0, -h * 0.15),
                P(8.0, hd + 19.0, -h * 0.25),
                P(0.0, hd + 22.0, -h * 0.3),
            ],
            4.0,
        )
        spin = S.box(
            q, P(0.0, hd + 36.0, -h * 0.12), (3.8, 15.0, 10.0), S.frame(ex, post - 0.25 * up), 3.0
        )
        tp = S.capsule(
            q, P(13.0, hd + 8.0, h * 0.1), P(tp_len, hd + 12.0, h * 0.1 + tp_up), tp_r, tp_r * 0.7
        )
        sup = S.capsule(q, P(14.5, hd + 11.0, h * 0.3), P(15.5, hd + 13.0, h * 0.5 + 8.0), 4.5)
        inf = S.capsule(q, P(9.5, hd + 19.0, -h * 0.1), P(11.5, hd + 20.0, -h * 0.5 - 7.0), 4.5)
        d = S.union([body, ped, lam, lam2, spin, tp, sup, inf], 2.5)
        canal = S.elliptic_cylinder(q, A.canal_centre_lumbar(name), rot, 11.5, 8.5, h, 0.0)
        d = S.subtract(d, canal, 1.5)
        if root_name is not None:
            root = paths()[root_name].points
            d = S.subtract(d, _path_chain(q, root[:40], 4.0, 2), 1.0)
        return d

    return f


def disc_sdf(upper: str, lower: str | None) -> Callable[[np.ndarray], np.ndarray]:
    cu, uu, _ = A.vertebra_frame(upper)
    hu = A.VERTEBRAE[upper][2]
    top = cu - uu * (hu / 2.0)
    if lower is None:  # S1 plate
        bottom = SP(0.0, 14.5, 0.0)
        nl = A.S1_PLATE_NORMAL
        hw, hd = 25.0, 17.0
    else:
        cl, ul, _ = A.vertebra_frame(lower)
        bottom = cl + ul * (A.VERTEBRAE[lower][2] / 2.0)
        nl = ul
        hw, hd = A.VERTEBRAE[lower][3], A.VERTEBRAE[lower][4]
    centre = 0.5 * (top + bottom)
    n = uu + nl
    n /= np.linalg.norm(n)
    rot = S.frame([1.0, 0.0, 0.0], np.cross(n, [1.0, 0.0, 0.0]))
    half = 0.5 * float(np.linalg.norm(top - bottom)) + 0.6

    def f(p: np.ndarray) -> np.ndarray:
        return S.elliptic_cylinder(p, centre, rot, hw - 0.5, hd - 0.5, half, 1.5)

    return f


# ---------------------------------------------------------------- hip bone (left)
def _ilium_frame() -> tuple[np.ndarray, np.ndarray]:
    H = A.HIP
    pts = np.array(
        [
            H["asis"],
            H["psis"],
            H["crest_top"],
            H["piis"],
            (100.0, -32.0, -45.0),
            (75.0, 20.0, -55.0),
        ]
    )
    o = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - o)
    n = vt[2]
    if n[0] > 0:
        n = -n  # e3 points medially
    e2 = np.array([0.0, 0.0, 1.0]) - n[2] * n
    e2 /= np.linalg.norm(e2)
    e1 = np.cross(e2, n)
    return o, np.column_stack([e1, e2, n])


ILIUM_OUTLINE = np.array(
    [
        A.HIP["asis"],
        (125.0, -35.0, 30.0),
        (121.0, -8.0, 52.0),
        A.HIP["crest_top"],
        (76.0, 40.0, 57.0),
        (60.0, 58.0, 43.0),
        (50.0, 72.0, 25.0),
        A.HIP["psis"],
        (46.0, 74.0, -10.0),
        A.HIP["piis"],
        (58.0, 42.0, -44.0),
        (64.0, 34.0, -54.0),
        (72.0, 28.0, -66.0),
        (88.0, 18.0, -74.0),
        (96.0, -18.0, -70.0),
        (101.0, -32.0, -50.0),
        (105.0, -42.0, -28.0),
        (113.0, -52.0, -10.0),
    ]
)
AC_DIR = np.array([0.75, -0.35, -0.55]) / np.linalg.norm([0.75, -0.35, -0.55])
ILIAC_FOSSA_DEPTH = 12.0  # mm the middle of the wing lies lateral to its rim


def hip_left_sdf(p: np.ndarray) -> np.ndarray:
    H = A.HIP
    o, rot = _ilium_frame()
    # the wing is bent into a shallow bowl by warping space around its plane; its borders stay
    # on the landmarks while the middle of the blade sinks laterally into the iliac fossa
    q = (p - o) @ rot
    pw = p - rot[:, 2][None, :] * (0.12 * (q[:, 0] ** 2 + q[:, 1] ** 2) / 100.0)[:, None]
    outline = (ILIUM_OUTLINE - o) @ rot[:, :2]
    t = np.clip(-S.polygon2d(q[:, 0], q[:, 1], outline) / 34.0, 0.0, 1.0)
    fossa = ILIAC_FOSSA_DEPTH * t * t * (3.0 - 2.0 * t)
    blade = S.plate(pw + rot[:, 2][None, :] * fossa[:, None], o, rot, outline, 5.0, r=2.0)

    def flat(pts, offset: float = 0.0):  # onto the (unbent) mid-plane, where the blade is
        pts = np.asarray(pts, dtype=np.float64)
        return pts - rot[:, 2][None, :] * (((pts - o) @ rot[:, 2]) - offset)[:, None]

    crest_pts = np.vstack(
        [
            H["asis"],
            (125.0, -35.0, 30.0),
            (121.0, -8.0, 52.0),
            H["crest_top"],
            (76.0, 40.0, 57.0),
            (60.0, 58.0, 43.0),
            (50.0, 72.0, 25.0),
            H["psis"],
        ]
    )
    crest = S.chain(pw, A.catmull_rom(flat(crest_pts), 4.0), 4.2)
    post = S.chain(
        pw,
        A.catmull_rom(flat([H["psis"], (46.0, 70.0, -10.0), H["piis"], (58.0, 42.0, -44.0)]), 4.0),
        7.5,
    )
    ant = S.chain(pw, flat([H["asis"], (105.0, -42.0, -28.0), (101.0, -32.0, -48.0)]), 3.8)
    # pelvic brim (arcuate line) on the inner face of the wing, running on along the pubis
    brim = flat([(48.0, 50.0, -14.0), (60.0, 24.0, -42.0), (66.0, -2.0, -64.0)], 2.5)
    brim = np.vstack([brim, (60.0, -26.0, -84.0)])
    arcuate = S.chain(pw, A.catmull_rom(brim, 4.0), 4.0)
    body = S.capsule(p, (68.0, 30.0, -52.0), H["acetabulum"], 12.0, 15.0)
    ac = np.asarray(H["acetabulum"])
    # the acetabulum's medial wall (quadrilateral plate) is flat, not a ball
    acet = S.smax(S.sphere(p, ac - AC_DIR * 7.0, 27.0), -((p - ac) @ AC_DIR) - 15.0, 4.0)
    # ischium, spine, tuberosity
    isch = S.chain(
        p,
        np.vstack([ac + (-10.0, 22.0, -18.0), (66.0, 40.0, -112.0), (58.0, 47.0, -126.0)]),
        [12.0, 10.0, 9.0],
        4.0,
    )
    post_isch = S.chain(
        p,
        np.vstack([(64.0, 33.0, -56.0), (59.0, 37.0, -70.0), (60.0, 40.0, -88.0)]),
        [8.0, 8.0, 8.0],
        3.0,
    )
    spine = S.capsule(p, (58.0, 39.0, -78.0), H["ischial_spine"], 7.0, 2.5)
    tub = S.ellipsoid(p, H["ischial_tuberosity"], (12.0, 12.0, 19.0))
    # pubis and rami around the obturator foramen
    sup_ramus = S.chain(
        p,
        np.vstack(
            [
                ac + (-14.0, -18.0, -4.0),
                (62.0, -30.0, -84.0),
                (38.0, -40.0, -92.0),
                (16.0, -45.0, -100.0),
            ]
        ),
        [10.0, 8.0, 6.5, 6.0],
        4.0,
    )
    pub_body = S.box(
        p, (12.5, -45.0, -108.0), (7.5, 6.5, 17.0), S.frame([1.0, 0.0, 0.0], [0.0, 0.25, 1.0]), 5.0
    )
    tubercle = S.sphere(p, H["pubic_tubercle"], 3.5)
    inf_ramus = S.chain(
        p,
        np.vstack(
            [
                (12.0, -44.0, -121.0),
                (26.0, -14.0, -134.0),
                (42.0, 20.0, -140.0),
                (55.0, 42.0, -138.0),
            ]
        ),
        [7.0, 6.0, 6.5, 9.0],
        4.0,
    )
    # the pubis and its rami blend broadly, into one smooth body rather than knuckles
    pubis = S.union([sup_ramus, pub_body, tubercle, inf_ramus], 7.0)
    blade = S.smin(blade, post, 9.0)
    d = S.union(
        [
            blade,
            crest,
            ant,
            arcuate,
            body,
            acet,
            isch,
            post_isch,
            spine,
            tub,
            pubis,
        ],
        4.0,
    )
    # acetabular cup opening laterally, anteriorly and down, with its notch
    cup = S.sphere(p, ac + AC_DIR * 3.0, 24.0)
    d = S.subtract(d, cup, 1.5)
    notch = S.capsule(p, ac + np.array([0.0, 0.0, -10.0]), ac + np.array([4.0, -4.0, -34.0]), 7.0)
    d = S.subtract(d, notch, 2.0)
    # obturator foramen, kept open
    ofn = np.array([0.45, -0.57, -0.67])
    ofr = S.frame([26.0, 55.0, -40.0], np.cross(ofn, [26.0, 55.0, -40.0]))
    obt = S.ellipsoid(p, (42.0, 2.0, -116.0), (24.0, 14.0, 30.0), ofr)
    d = S.subtract(d, obt, 3.0)
    return d


# ---------------------------------------------------------------- organs
def bladder_sdf(p: np.ndarray) -> np.ndarray:
    c = A.BLADDER_CENTRE
    d = S.ellipsoid(p, c, (33.0, 25.0, 23.0))
    neck = S.capsule(p, c + (0.0, 2.0, -10.0), c + (0.0, 7.0, -20.0), 6.5)
    return S.smin(d, neck, 6.0)


def prostate_sdf(p: np.ndarray) -> np.ndarray:
    c = A.PROSTATE_CENTRE
    d = S.ellipsoid(
        p, c + (0.0, 0.0, 1.5), (21.0, 15.0, 12.0), S.frame([1, 0, 0], [0.0, -0.35, 1.0])
    )
    apex = S.ellipsoid(p, c + (0.0, -4.0, -8.0), (11.0, 9.0, 7.0))
    return S.smin(d, apex, 5.0)


SV_CTRL = np.array(
    [[6.0, 20.0, -113.0], [15.0, 26.0, -107.0], [25.0, 29.0, -99.0], [31.0, 29.0, -92.0]]
)


def seminal_vesicle_sdf(p: np.ndarray) -> np.ndarray:
    d = S.chain(p, SV_CTRL, [3.5, 5.0, 5.0, 3.8], 3.0)
    # sacculated surface
    return d + 0.5 * np.sin(p[:, 0] * 0.9) * np.sin(p[:, 2] * 0.8)


RECTUM_CTRL = np.array(
    [
        [8.0, 26.0, -28.0],
        [0.0, 38.0, -50.0],
        [0.0, 44.0, -75.0],
        [0.0, 42.0, -97.0],
        [0.0, 38.0, -118.0],
        [0.0, 40.0, -130.0],
        [0.0, 47.0, -150.0],
    ]
)


def rectum_sdf(p: np.ndarray) -> np.ndarray:
    return S.chain(p, RECTUM_CTRL, [12.0, 14.0, 17.0, 17.0, 14.0, 12.0, 9.0], 6.0)


# ---------------------------------------------------------------- muscles (left)
PIRIFORMIS_INSERTION = np.array([120.0, 24.0, -70.0])


def piriformis_left_sdf(p: np.ndarray) -> np.ndarray:
    ja = A.junction_a()
    origins = [SP(ja[0] + 10.0, 2.0, 29.0), SP(ja[1] - 2.0, 2.0, 30.0), SP(ja[2] - 8.0, 2.0, 27.0)]
    parts = [S.capsule(p, o, PIRIFORMIS_INSERTION, 7.0, 3.5) for o in origins]
    return S.union(parts, 9.0)


def obturator_internus_left_sdf(p: np.ndarray) -> np.ndarray:
    ofn = np.array([0.45, -0.57, -0.67]) / np.linalg.norm([0.45, -0.57, -0.67])
    c = np.array([42.0, 2.0, -112.0]) - ofn * 7.0
    rot = S.frame([26.0, 55.0, -40.0], np.cross(ofn, [26.0, 55.0, -40.0]))
    sheet = S.ellipsoid(p, c, (34.0, 26.0, 5.0), rot)
    tendon = S.chain(
        p,
        np.vstack(
            [(46.0, 38.0, -104.0), (60.0, 52.0, -102.0), (80.0, 46.0, -94.0), (108.0, 30.0, -84.0)]
        ),
        [7.0, 5.5, 4.5, 3.5],
        4.0,
    )
    return S.smin(sheet, tendon, 6.0)


def _solids() -> dict[str, Solid]:
    out: dict[str, Solid] = {
        "sacrum": Solid(sacrum_sdf, (-62.0, -12.0, -125.0), (62.0, 100.0, 45.0), 1.0, 32000),
        "coccyx": Solid(coccyx_sdf, (-20.0, 45.0, -145.0), (20.0, 72.0, -105.0), 0.8, 2500),
        "l3": Solid(vertebra_sdf("l3"), (-48.0, -30.0, 70.0), (48.0, 85.0, 130.0), 1.0, 4000),
        "l4": Solid(vertebra_sdf("l4"), (-50.0, -30.0, 35.0), (50.0, 85.0, 98.0), 1.0, 4000),
        "l5": Solid(vertebra_sdf("l5"), (-58.0, -25.0, 0.0), (58.0, 90.0, 68.0), 1.0, 4500),
        "disc_l3_l4": Solid(
            disc_sdf("l3", "l4"), (-30.0, -30.0, 70.0), (30.0, 20.0, 92.0), 1.0, 2000
        ),
        "disc_l4_l5": Solid(
            disc_sdf("l4", "l5"), (-30.0, -30.0, 35.0), (30.0, 25.0, 62.0), 1.0, 2000
        ),
        "disc_l5_s1": Solid(
            disc_sdf("l5", None), (-30.0, -25.0, -5.0), (30.0, 35.0, 32.0), 1.0, 2000
        ),
        "hip_l": Solid(hip_left_sdf, (0.0, -70.0, -160.0), (140.0, 95.0, 75.0), 1.2, 11000),
        "bladder": Solid(bladder_sdf, (-40.0, -35.0, -118.0), (40.0, 30.0, -60.0), 1.2, 3000),
        "prostate": Solid(prostate_sdf, (-25.0, -12.0, -145.0), (25.0, 28.0, -108.0), 1.0, 3000),
        "seminal_vesicle_l": Solid(
            seminal_vesicle_sdf, (0.0, 12.0, -122.0), (40.0, 38.0, -84.0), 0.8, 2500
        ),
        "rectum": Solid(rectum_sdf, (-25.0, 10.0, -165.0), (25.0, 66.0, -10.0), 1.2, 3500),
        "piriformis_l": Solid(
            piriformis_left_sdf, (15.0, 5.0, -90.0), (130.0, 75.0, -15.0), 1.2, 3000
        ),
        "obturator_internus_l": Solid(
            obturator_internus_left_sdf, (0.0, -45.0, -150.0), (120.0, 70.0, -70.0), 1.2, 3000
        ),
    }
    return out


SOLIDS = _solids()
MIRRORED = {
    "hip_r": "hip_l",
    "seminal_vesicle_r": "seminal_vesicle_l",
    "piriformis_r": "piriformis_l",
    "obturator_internus_r": "obturator_internus_l",
}
