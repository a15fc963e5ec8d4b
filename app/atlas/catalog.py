"""What an atlas file or named mesh is, in this project's terms: node id, name, systems, colour.

Two naming schemes are known: BodyParts3D files named by FMA ID (``FMA16202.stl``) and Human
Reference Atlas glTF meshes named ``VH_M_<structure>[_L|_R]``. Anything else is still imported,
under the ``other`` group, with an id made from its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BONE = (0.91, 0.87, 0.78)
DISC = (0.56, 0.68, 0.80)
MUSCLE = (0.70, 0.27, 0.24)
PROSTATE = (0.80, 0.50, 0.45)
BLADDER = (0.86, 0.75, 0.36)
RECTUM = (0.60, 0.33, 0.24)
VESICLE = (0.84, 0.64, 0.46)
URETHRA = (0.85, 0.58, 0.45)
CORD = (0.98, 0.88, 0.45)
OTHER = (0.75, 0.75, 0.75)


@dataclass(frozen=True)
class Entry:
    """How one atlas structure appears in a scene."""

    id: str
    name: str
    systems: tuple[str, ...]
    color: tuple[float, float, float]
    group: str  # the id of the group node it belongs under
    opacity: float = 1.0
    visible: bool = True
    role: str = ""  # what landmark detection uses it as: sacrum, hip_l, hip_r, vertebra, ...

    @property
    def side(self) -> str:
        return "left" if self.id.endswith("_l") else "right" if self.id.endswith("_r") else (
            "midline")


def _e(id_: str, name: str, system: str, color, group: str, **kw) -> Entry:
    return Entry(id_, name, (system,), color, group, **kw)


# Groups the importer creates when the source scene has no group of that id (parent None).
GROUPS: dict[str, tuple[str, str | None]] = {
    "skeleton": ("Skeleton", None),
    "organs": ("Pelvic organs", None),
    "muscles": ("Muscles", None),
    "spinal_cord": ("Spinal cord (atlas)", None),
    "other": ("Other atlas structures", None),
}

# BodyParts3D (FMA IDs). Right and left are the subject's.
FMA: dict[str, Entry] = {
    "FMA16202": _e("sacrum", "Sacrum", "skeletal", BONE, "skeleton", role="sacrum"),
    "FMA20229": _e("coccyx", "Coccyx", "skeletal", BONE, "skeleton", role="coccyx"),
    "FMA16586": _e("hip_r", "Right hip bone", "skeletal", BONE, "skeleton", role="hip_r"),
    "FMA16587": _e("hip_l", "Left hip bone", "skeletal", BONE, "skeleton", role="hip_l"),
    "FMA13072": _e("l1", "L1 vertebra", "skeletal", BONE, "skeleton", role="vertebra"),
    "FMA13073": _e("l2", "L2 vertebra", "skeletal", BONE, "skeleton", role="vertebra"),
    "FMA13074": _e("l3", "L3 vertebra", "skeletal", BONE, "skeleton", role="vertebra"),
    "FMA13075": _e("l4", "L4 vertebra", "skeletal", BONE, "skeleton", role="vertebra"),
    "FMA13076": _e("l5", "L5 vertebra", "skeletal", BONE, "skeleton", role="vertebra"),
    "FMA16035": _e("disc_l3_l4", "L3-L4 disc", "skeletal", DISC, "skeleton", role="disc"),
    "FMA16036": _e("disc_l4_l5", "L4-L5 disc", "skeletal", DISC, "skeleton", role="disc"),
    "FMA16037": _e("disc_l5_s1", "L5-S1 disc", "skeletal", DISC, "skeleton", role="disc"),
    "FMA9600": _e("prostate", "Prostate", "urogenital", PROSTATE, "organs", role="prostate"),
    "FMA15900": _e("bladder", "Urinary bladder", "urogenital", BLADDER, "organs",
                   role="bladder"),
    "FMA14544": _e("rectum", "Rectum", "digestive", RECTUM, "organs", role="rectum"),
    "FMA14543": _e("sigmoid_colon", "Sigmoid colon", "digestive", RECTUM, "organs"),
    "FMA19387": _e("seminal_vesicle_r", "Right seminal vesicle", "urogenital", VESICLE,
                   "organs"),
    "FMA19388": _e("seminal_vesicle_l", "Left seminal vesicle", "urogenital", VESICLE,
                   "organs"),
    "FMA19667": _e("urethra", "Urethra", "urogenital", URETHRA, "organs"),
    "FMA22340": _e("piriformis_r", "Right piriformis", "muscular", MUSCLE, "muscles"),
    "FMA22341": _e("piriformis_l", "Left piriformis", "muscular", MUSCLE, "muscles"),
}

# Human Reference Atlas (Visible Human Male) mesh names, without the VH_M_ prefix and lower case.
_HRA_FIXED: dict[str, Entry] = {
    "sacrum": _e("sacrum", "Sacrum", "skeletal", BONE, "skeleton", role="sacrum"),
    "coccyx": _e("coccyx", "Coccyx", "skeletal", BONE, "skeleton", role="coccyx"),
    "rectum": _e("rectum", "Rectum", "digestive", RECTUM, "organs", role="rectum"),
    "sigmoid_colon": _e("sigmoid_colon", "Sigmoid colon", "digestive", RECTUM, "organs"),
    "seminal_vesicle": _e("seminal_vesicles", "Seminal vesicles", "urogenital", VESICLE,
                          "organs"),
}
_SIDE = {"l": ("_l", "Left"), "r": ("_r", "Right")}
_HIP_PART = re.compile(r"^(ilium|ischium|pubis)_(compact|spongy)_bone_([lr])$")


def fma_entry(stem: str) -> Entry | None:
    """The entry for a BodyParts3D file stem such as ``FMA16202`` (None when unknown)."""
    m = re.match(r"^(FMA\d+)", stem, re.IGNORECASE)
    return FMA.get(m.group(1).upper()) if m else None


def hra_entry(mesh_name: str) -> Entry | None:
    """The entry for a Human Reference Atlas mesh name (None when unknown)."""
    key = re.sub(r"^(?:VH|SBU)_[MF]_", "", mesh_name).lower()
    key = re.sub(r"_+", "_", key).strip("_")
    if key in _HRA_FIXED:
        return _HRA_FIXED[key]
    m = _HIP_PART.match(key)
    if m:
        part, layer, side = m.groups()
        suffix, word = _SIDE[side]
        hip = f"hip{suffix}"
        if layer == "compact":
            return Entry(f"{part}{suffix}", f"{word} {part}", ("skeletal",), BONE, hip,
                         role=hip)
        # Spongy bone lies inside the compact shell: imported, hidden.
        return Entry(f"{part}_spongy{suffix}", f"{word} {part} (spongy bone)", ("skeletal",),
                     BONE, hip, visible=False)
    if "prostate" in key or key.startswith(("ejaculatory_duct", "prostatic_utricle",
                                            "seminal_colliculus", "anterior_fibromuscular")):
        return Entry(_hra_id("prostate", key), _pretty(key), ("urogenital",), PROSTATE,
                     "prostate", role="prostate")
    if "bladder" in key or key.startswith("ureteral_orifice"):
        return Entry(_hra_id("bladder", key), _pretty(key), ("urogenital",), BLADDER, "bladder",
                     role="bladder")
    if key.startswith("vas_deferens"):
        return Entry(_side_id("vas_deferens", key), _pretty(key), ("urogenital",), VESICLE,
                     "organs")
    if "spinal_cord" in key:
        return Entry(_cord_id(key), _pretty(key), ("nervous",), CORD, "spinal_cord")
    return None


# Groups that an HRA import creates for organs made of several meshes.
PART_GROUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "hip_l": ("Left hip bone", "skeleton", ("skeletal",)),
    "hip_r": ("Right hip bone", "skeleton", ("skeletal",)),
    "prostate": ("Prostate", "organs", ("urogenital",)),
    "bladder": ("Urinary bladder", "organs", ("urogenital",)),
}


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
             "tenth", "eleventh", "twelfth")


def _cord_id(key: str) -> str:
    """``c3_segment_of_cervical_spinal_cord`` -> ``spinal_cord_c3``; ``first_lumbar_...`` -> l1."""
    m = re.match(r"^([cC]\d+)_segment", key)
    if m:
        return f"spinal_cord_{m.group(1).lower()}"
    m = re.match(r"^(\w+?)_(thoracic|lumbar|sacral)_spinal_cord_segment$", key)
    if m and m.group(1) in _ORDINALS:
        return f"spinal_cord_{m.group(2)[0]}{_ORDINALS.index(m.group(1)) + 1}"
    return _hra_id("spinal_cord", key)


def _side_id(stem: str, key: str) -> str:
    side = re.search(r"_([lr])$", key)
    return f"{stem}_{side.group(1)}" if side else stem


def _hra_id(prefix: str, key: str) -> str:
    ident = safe_id(key)
    if not ident.startswith(prefix):
        ident = f"{prefix}_{ident}"
    return ident


def _pretty(key: str) -> str:
    text = re.sub(r"_([lr])$", lambda m: f" ({'left' if m.group(1) == 'l' else 'right'})", key)
    text = text.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def safe_id(text: str) -> str:
    """A snake_case id from any name (``VH_M_Urinary bladder-1`` -> ``vh_m_urinary_bladder_1``).

    A trailing side word (``_L``, ``_R``) is kept as ``_l``/``_r``, as the scene format wants.
    """
    ident = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    ident = re.sub(r"_+", "_", ident)
    if not ident or not ident[0].isalpha():
        ident = f"part_{ident}" if ident else "part"
    return ident


def other_entry(name: str) -> Entry:
    """An unknown structure: imported under ``other``, with an id made from its name."""
    ident = safe_id(name)
    if ident.endswith(("_l", "_r")):
        ident = ident[:-2] + "_" + ident[-1]
    return Entry(ident, name, (), OTHER, "other")
