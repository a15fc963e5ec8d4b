"""Shared by the spread tests (no tests here): a small synthetic nerve network.

The spread tests splice a scenario file's ``scenario`` and ``timeline`` onto these centrelines,
so the model is tested without depending on the procedural anatomy; tests on the real case
scene run beside them.
"""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "scenes"

# Left side (+x); the right side mirrors x. LPS mm, origin at the sacral promontory.
LEFT = {
    "ramus_l4_l": ([[22, 22, 62], [30, 10, 40], [36, 0, 18]], 3.0),
    "ramus_l5_l": ([[18, 24, 32], [28, 10, 22], [36, 0, 16]], 3.0),
    "lumbosacral_trunk_l": ([[36, 0, 16], [42, -4, -5], [46, -6, -30]], 3.0),
    "ramus_s1_l": ([[9, 28, -8], [20, 6, -18], [46, -6, -34]], 3.5),
    "ramus_s2_l": ([[9, 34, -26], [20, 14, -34], [47, -3, -44]], 3.0),
    "ramus_s3_l": ([[9, 40, -44], [22, 24, -50], [47, 4, -54]], 2.0),
    "ramus_s4_l": ([[9, 45, -60], [25, 30, -66]], 1.5),
    "sacral_plexus_l": ([[46, -6, -30], [49, -2, -45], [52, 2, -62]], 5.0),
    "sciatic_l": ([[52, 2, -62], [64, 20, -110], [70, 30, -200]], 6.0),
    "tibial_l": ([[70, 30, -200], [70, 35, -300]], 4.0),
    "common_fibular_l": ([[70, 30, -200], [80, 35, -280]], 3.0),
    "pelvic_splanchnic_l": ([[21, 16, -36], [28, -10, -60], [30, -22, -72]], 1.2),
    "inferior_hypogastric_plexus_l": ([[30, -22, -62], [26, -35, -80], [20, -45, -96]], 2.0),
}
MIDLINE = {
    "dural_sac": ([[0, 18, 70], [0, 26, 0], [0, 32, -40]], 6.0),
    "cauda_equina": ([[0, 12, 170], [0, 20, 70], [0, 32, -40]], 3.0),
}
LANDMARKS = {
    "prostate_bed": [0, -50, -105],
    "sacral_canal_s1_s2": [0, 30, -22],
    "conus_medullaris": [0, 12, 170],
    # the imaging findings' sciatic-notch slab sits between these
    "ischial_spine_l": [40, 50, -80],
    "ischial_spine_r": [-40, 50, -80],
}


def _mirror(points):
    return [[-x, y, z] for x, y, z in points]


def anatomy_nodes() -> list[dict]:
    nodes = [{"id": "nerves", "kind": "group"}]
    for nid, (pts, r) in MIDLINE.items():
        nodes.append({"id": nid, "kind": "nerve", "parent": "nerves", "centreline": pts,
                      "radius": r, "systems": ["meninges" if nid == "dural_sac" else "nervous"]})
    for nid, (pts, r) in LEFT.items():
        nodes.append({"id": nid, "kind": "nerve", "side": "left", "parent": "nerves",
                      "centreline": pts, "radius": r})
        nodes.append({"id": nid[:-2] + "_r", "kind": "nerve", "side": "right",
                      "parent": "nerves", "centreline": _mirror(pts), "radius": r})
    return nodes


def synthetic_scene_file(tmp: Path, scenario_file: str | Path, name: str = "synthetic") -> Path:
    """Write a scene with the synthetic network and ``scenario_file``'s scenario/timeline
    (as merged over the scenes it extends)."""
    from app import anatomy
    from app.model.loader import read_scene

    yaml = YAML(typ="rt")
    src = read_scene(Path(SCENES / scenario_file), procedural=anatomy)
    doc = {"name": name, "nodes": anatomy_nodes(), "landmarks": LANDMARKS,
           "scenario": src.scenario.value, "timeline": src.timeline.value}
    out = tmp / f"{name}.yaml"
    with out.open("w") as fh:
        yaml.dump(doc, fh)
    return out


def load_synthetic(tmp: Path, scenario_file: str | Path = "bilateral_plexopathy.yaml"):
    from app.case import load_scene

    return load_scene(synthetic_scene_file(tmp, scenario_file, Path(scenario_file).stem))
