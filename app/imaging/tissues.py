"""Which tissue each scene node is, and how that tissue looks on the schematic MR panel.

Grey levels follow a fat-suppressed T1 image after gadolinium, the sequence on which the case's
nerves were seen to enhance: fat and marrow dark-grey, muscle mid-grey, urine and CSF dark,
cortical bone black, normal nerves like muscle, enhancing tumour (involved nerves, the
sacral-canal mass, an involved dural rim) bright.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.model.scene import Node


@dataclass(frozen=True)
class Tissue:
    name: str
    grey: int  # interior, 0..255
    wall_grey: int | None = None  # a rim (cortex, organ wall, dura), if any
    wall_mm: float = 0.0
    order: int = 0  # drawing order: larger paints over smaller
    label: bool = True  # worth a label on the panel


FAT = 50  # what the body is filled with where no structure is drawn
SKIN = 78
AIR = 0
NERVE_GREY = 96  # a normal nerve: about muscle
ENHANCED_GREY = 246  # a fully involved nerve
MASS_GREY = 226
DURA_ENHANCED = 215
ENLARGE = 0.75  # an involved nerve's radius grows by up to this fraction

TISSUES: dict[str, Tissue] = {t.name: t for t in (
    Tissue("muscle", 98, order=1),
    Tissue("bone", 84, wall_grey=14, wall_mm=1.6, order=2),
    Tissue("disc", 76, wall_grey=60, wall_mm=1.0, order=3),
    Tissue("gland", 116, order=4),
    Tissue("vesicle", 70, wall_grey=104, wall_mm=1.0, order=4),
    Tissue("urine", 22, wall_grey=104, wall_mm=2.5, order=4),
    Tissue("bowel", 38, wall_grey=110, wall_mm=3.0, order=4),
    Tissue("soft", 90, order=4),
    Tissue("csf", 26, wall_grey=72, wall_mm=1.0, order=5),
    Tissue("cord", 104, order=6, label=False),
    Tissue("roots", 92, order=6, label=False),
    Tissue("nerve", NERVE_GREY, order=7),
    Tissue("mass", MASS_GREY, order=8),
)}

_BY_ID = {"dural_sac": "csf", "conus_medullaris": "cord", "cauda_equina": "roots",
          "bladder": "urine", "rectum": "bowel", "prostate": "gland"}
_BY_PREFIX = (("seminal_vesicle", "vesicle"), ("disc_", "disc"))
_BY_SYSTEM = (("skeletal", "bone"), ("muscular", "muscle"), ("meninges", "csf"),
              ("urogenital", "gland"), ("digestive", "bowel"))


def tissue_of(node: Node) -> Tissue:
    """The tissue a node is drawn as (by id for the structures MR tells apart, else by system)."""
    name = _BY_ID.get(node.id)
    if name is None:
        for prefix, tissue in _BY_PREFIX:
            if node.id.startswith(prefix):
                name = tissue
                break
    if name is None and node.kind == "nerve" and "nervous" in node.systems:
        name = "nerve"
    if name is None:
        for system, tissue in _BY_SYSTEM:
            if system in node.systems:
                name = tissue
                break
    return TISSUES[name or "soft"]


# Short labels for the panel (a radiologist's words); other nodes use their own name.
SHORT: dict[str, str] = {
    "sacrum": "sacrum", "coccyx": "coccyx", "hip_l": "ilium", "hip_r": "ilium",
    "l5": "L5", "l4": "L4", "l3": "L3", "disc_l5_s1": "L5-S1 disc",
    "bladder": "bladder", "rectum": "rectum", "prostate": "prostate",
    "seminal_vesicle_l": "SV", "seminal_vesicle_r": "SV",
    "dural_sac": "thecal sac", "piriformis_l": "piriformis", "piriformis_r": "piriformis",
    "obturator_internus_l": "obt. int.", "obturator_internus_r": "obt. int.",
    "lumbosacral_trunk_l": "LST", "lumbosacral_trunk_r": "LST",
    "sacral_plexus_l": "plexus", "sacral_plexus_r": "plexus",
    "sciatic_l": "sciatic", "sciatic_r": "sciatic",
    "pelvic_splanchnic_l": "PSN", "pelvic_splanchnic_r": "PSN",
    "inferior_hypogastric_plexus_l": "IHP", "inferior_hypogastric_plexus_r": "IHP",
}


def short_label(node: Node) -> str:
    if node.id in SHORT:
        return SHORT[node.id]
    for level in ("l4", "l5", "s1", "s2", "s3", "s4"):
        if node.id.startswith(f"ramus_{level}_"):
            return level.upper()
    return node.name
