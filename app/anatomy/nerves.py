"""Centrelines of the nerves and meninges, and how they join (numpy only).

Every path is a centripetal Catmull-Rom spline through anatomical control points, ordered
proximal to distal. Where one nerve branches off or joins another, the control point is taken
from the other nerve's sampled centreline, so the junction lies exactly on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import atlas as A

STEP = 1.0  # mm between centreline samples


@dataclass(frozen=True)
class Path:
    points: np.ndarray  # (N, 3)
    radius: float
    radii: np.ndarray  # (N,) radius per sample (tapered ends for sac and conus)

    @property
    def arclength(self) -> np.ndarray:
        return A.arclength(self.points)

    def at(self, f: float) -> np.ndarray:
        s = self.arclength
        t = f * s[-1]
        return np.array([np.interp(t, s, self.points[:, i]) for i in range(3)])

    def fraction_of(self, p: np.ndarray) -> float:
        s = self.arclength
        i = int(np.argmin(np.linalg.norm(self.points - p, axis=1)))
        return float(s[i] / s[-1])


def _path(ctrl, radius: float, radii=None) -> Path:
    pts = A.catmull_rom(np.asarray(ctrl, dtype=np.float64), STEP)
    if radii is None:
        rr = np.full(len(pts), radius)
    else:
        rr = radii(A.arclength(pts))
    return Path(pts, radius, rr)


def _nearest(path: Path, target) -> np.ndarray:
    i = int(np.argmin(np.linalg.norm(path.points - np.asarray(target), axis=1)))
    return path.points[i].copy()


SP = A.sacral_point
RAMUS_RADIUS = {"l4": 3.0, "l5": 3.0, "s1": 3.5, "s2": 2.75, "s3": 1.75, "s4": 1.25}
SAC_RADIUS = 6.5
CONUS_Z = 148.0  # conus medullaris, L1-L2 disc


def sac_end_a() -> float:
    """Arc position of the sac's tip: its lowest point midway between the S1 and S2 foramina."""
    z_target = 0.5 * (A.anterior_foramen(1)[2] + A.anterior_foramen(2)[2])
    aa = np.linspace(30.0, 110.0, 801)
    z = SP(aa, A.canal_centre_s(aa), 0.0)[:, 2]
    return float(np.interp(-z_target, -z, aa))


@lru_cache(maxsize=1)
def _left_and_midline() -> dict[str, Path]:
    out: dict[str, Path] = {}
    ja = A.junction_a()
    cc = A.canal_centre_s

    # --- meninges: sac from L1 to S2, along the vertebral and sacral canals
    a_end = sac_end_a()
    sac_ctrl = [
        A.canal_centre_lumbar("l1") + [0, 0, 16.0],
        A.canal_centre_lumbar("l1"),
        A.canal_centre_lumbar("l2"),
        A.canal_centre_lumbar("l3"),
        A.canal_centre_lumbar("l4"),
        A.canal_centre_lumbar("l5"),
        SP(12.0, cc(12.0) + 1.0, 0.0),
        SP(ja[0], cc(ja[0]), 0.0),
        SP(a_end, cc(a_end), 0.0),
    ]

    def sac_r(s):
        L = s[-1]
        tip = np.clip((L - s) / 14.0, 0.0, 1.0)
        return (
            SAC_RADIUS
            * (0.25 + 0.75 * np.sqrt(tip))
            * np.where(s < 20.0, 1.0 + 0.12 * (1 - s / 20.0), 1.0)
        )

    sac = _path(sac_ctrl, SAC_RADIUS, sac_r)
    # the sac's rounded tip reaches about one tip radius below the last sample
    out["dural_sac"] = sac
    sac_pts = sac.points
    z = sac_pts[:, 2]
    i_conus = int(np.argmin(np.abs(z - CONUS_Z)))
    i_top = 0
    out["conus_medullaris"] = Path(
        sac_pts[i_top : i_conus + 1].copy(),
        3.5,
        np.linspace(4.5, 1.2, i_conus + 1 - i_top),
    )
    i_ce_end = len(sac_pts) - 10
    out["cauda_equina"] = Path(
        sac_pts[i_conus : i_ce_end + 1].copy(), 2.5, np.full(i_ce_end + 1 - i_conus, 2.5)
    )

    def on_sac(target) -> np.ndarray:
        return _nearest(sac, target)

    # --- sacral rami: root in the canal, through the foramen channel, out of the anterior foramen
    ramus_exit: dict[int, np.ndarray] = {}
    ramus_roots: dict[int, list[np.ndarray]] = {}
    for k in range(1, 5):
        af = ja[k - 1]
        xf = A.FORAMEN_X[k - 1]
        if k <= 2:
            start = on_sac(SP(af - 12.0, cc(af - 12.0), 0.0))
        else:
            start = sac.points[len(sac.points) - 4 - 2 * (k - 3)].copy()
        root = [
            start,
            SP(af - 4.0, cc(af - 4.0), A.canal_half_width(af) - 4.5),
            SP(af, A.sacral_body_depth(af) * 0.55, xf - 1.0),
            SP(af, 1.0, xf),
            SP(af + 3.0, -6.0, xf + 3.0),
        ]
        ramus_roots[k] = root
        ramus_exit[k] = root[-1]

    # --- lumbar rami, lumbosacral trunk and sacral plexus
    l4c = A.canal_centre_lumbar("l4")
    l5c = A.canal_centre_lumbar("l5")
    lst_start = np.array([36.0, 6.0, 10.0])
    out["ramus_l4_l"] = _path(
        [
            on_sac(l4c + [0, 0, -3.0]),
            l4c + [11.0, -2.0, -9.0],
            np.array([23.0, 14.0, 50.0]),
            np.array([34.0, 2.0, 36.0]),
            np.array([39.0, -2.0, 22.0]),
            lst_start,
        ],
        RAMUS_RADIUS["l4"],
    )
    out["ramus_l5_l"] = _path(
        [
            on_sac(l5c + [0, 0, -2.0]),
            l5c + [11.0, -1.0, -8.0],
            np.array([24.0, 22.0, 20.0]),
            np.array([31.0, 12.0, 14.0]),
            lst_start,
        ],
        RAMUS_RADIUS["l5"],
    )
    # the plexus forms on the anterior surface of piriformis and converges on the lower part of
    # the greater sciatic foramen
    plexus_ctrl = [
        np.array([41.0, 28.0, -37.0]),
        np.array([46.0, 37.0, -52.0]),
        np.array([51.0, 41.0, -66.0]),
        np.array([55.0, 50.0, -79.0]),
    ]
    out["lumbosacral_trunk_l"] = _path(
        [lst_start, np.array([41.0, 4.0, -4.0]), np.array([43.0, 12.0, -18.0]), plexus_ctrl[0]], 3.5
    )
    plexus = _path(plexus_ctrl, 4.5)
    out["sacral_plexus_l"] = plexus
    for k in (1, 2, 3):
        join = _nearest(
            plexus, plexus_ctrl[0] if k == 1 else (plexus_ctrl[1] if k == 2 else plexus_ctrl[2])
        )
        if k == 1:
            join = plexus.at(0.12)
        mid = 0.5 * (ramus_exit[k] + join) + np.array([0.0, -2.0, 0.0])
        out[f"ramus_s{k}_l"] = _path(ramus_roots[k] + [mid, join], RAMUS_RADIUS[f"s{k}"])

    # --- sciatic and its divisions
    sc_start = plexus.points[-1].copy()
    out["sciatic_l"] = _path(
        [
            sc_start,
            np.array([62.0, 62.0, -94.0]),
            np.array([76.0, 68.0, -118.0]),
            np.array([86.0, 68.0, -145.0]),
            np.array([91.0, 64.0, -178.0]),
        ],
        5.5,
    )
    div = out["sciatic_l"].points[-1].copy()
    out["tibial_l"] = _path(
        [div, div + [-1.5, 1.0, -30.0], div + [-3.0, 1.0, -70.0], div + [-4.0, 0.0, -120.0]], 4.0
    )
    out["common_fibular_l"] = _path(
        [div, div + [4.0, 1.5, -30.0], div + [8.0, 2.0, -70.0], div + [11.0, 2.0, -120.0]], 3.0
    )

    # --- pelvic splanchnic nerves (S2-S4) to the inferior hypogastric plexus
    s4_end = SP(ja[3] + 6.0, -8.0, A.FORAMEN_X[3] + 5.0)
    out["ramus_s4_l"] = _path(ramus_roots[4] + [s4_end], RAMUS_RADIUS["s4"])
    s2 = out["ramus_s2_l"]
    s3 = out["ramus_s3_l"]
    ps_start = _nearest(s2, ramus_exit[2] + [0, 0, -3.0])
    ps_s3 = _nearest(s3, ramus_exit[3])
    ihp_start = np.array([27.0, 46.0, -100.0])
    out["pelvic_splanchnic_l"] = _path(
        [ps_start, ps_s3 + [-0.0, 0.0, 0.0], s4_end, np.array([25.0, 52.0, -96.0]), ihp_start], 1.2
    )
    out["inferior_hypogastric_plexus_l"] = _path(
        [
            ihp_start,
            np.array([31.0, 36.0, -106.0]),
            np.array([28.0, 25.0, -115.0]),
            np.array([21.0, 15.0, -124.0]),
        ],
        2.5,
    )
    return out


# (proximal, distal) pairs; fractions are found by projection
_JOIN_LEFT = [
    ("ramus_l4_l", "lumbosacral_trunk_l", "end"),
    ("ramus_l5_l", "lumbosacral_trunk_l", "end"),
    ("lumbosacral_trunk_l", "sacral_plexus_l", "end"),
    ("ramus_s1_l", "sacral_plexus_l", "end_on"),
    ("ramus_s2_l", "sacral_plexus_l", "end_on"),
    ("ramus_s3_l", "sacral_plexus_l", "end_on"),
    ("sacral_plexus_l", "sciatic_l", "end"),
    ("sciatic_l", "tibial_l", "end"),
    ("sciatic_l", "common_fibular_l", "end"),
    ("ramus_s2_l", "pelvic_splanchnic_l", "start_on"),
    ("ramus_s3_l", "pelvic_splanchnic_l", "on"),
    ("ramus_s4_l", "pelvic_splanchnic_l", "end_on"),
    ("pelvic_splanchnic_l", "inferior_hypogastric_plexus_l", "end"),
]
ROOT_NERVES = ["ramus_l4", "ramus_l5", "ramus_s1", "ramus_s2", "ramus_s3", "ramus_s4"]


@lru_cache(maxsize=1)
def paths() -> dict[str, Path]:
    base = _left_and_midline()
    out = dict(base)
    for name, p in base.items():
        if name.endswith("_l"):
            out[name[:-2] + "_r"] = Path(A.mirror(p.points), p.radius, p.radii.copy())
    return out


def _junction(prox: Path, dist: Path, mode: str) -> tuple[float, float]:
    if mode == "end":  # distal starts where proximal ends
        return 1.0, 0.0
    if mode == "end_on":  # proximal ends on the distal's course
        return 1.0, dist.fraction_of(prox.points[-1])
    if mode == "start_on":  # distal branches off the proximal
        return prox.fraction_of(dist.points[0]), 0.0
    # "on": the distal passes through a point of the proximal
    i = int(
        np.argmin(
            np.min(
                np.linalg.norm(dist.points[:, None, :] - prox.points[None, :, :], axis=2), axis=1
            )
        )
    )
    p = dist.points[i]
    return prox.fraction_of(p), dist.fraction_of(p)


@lru_cache(maxsize=1)
def junctions() -> list[tuple[str, float, str, float]]:
    ps = paths()
    out: list[tuple[str, float, str, float]] = []
    sac = ps["dural_sac"]
    out.append(("conus_medullaris", 1.0, "cauda_equina", 0.0))
    out.append(("dural_sac", sac.fraction_of(ps["cauda_equina"].points[0]), "cauda_equina", 0.0))
    for side in ("l", "r"):
        for root in ROOT_NERVES:
            name = f"{root}_{side}"
            out.append(("dural_sac", sac.fraction_of(ps[name].points[0]), name, 0.0))
        for prox, dist, mode in _JOIN_LEFT:
            if side == "r":
                prox, dist = prox[:-2] + "_r", dist[:-2] + "_r"
            fp, fd = _junction(ps[prox], ps[dist], mode)
            out.append((prox, round(fp, 4), dist, round(fd, 4)))
    return out
