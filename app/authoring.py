"""``pelvic-spread new-case``: a commented scene file a lecturer edits into their own case.

The file extends the built-in anatomy and holds the whole case: the routes the tumour takes,
the dates that drive the animation, the patient's record (marker values, events), the stages
with their captions, and the legend. It validates and plays as written; every mistake made
while editing it is reported as ``FILE:LINE: what was expected``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from ruamel.yaml import YAML

from app.case import SCENES_DIR, load_scene, resolve_scene_path
from app.errors import SceneError, UserError
from app.model.loader import read_scene

TEMPLATE = """\
# {title}: a case for pelvic-spread.
#
# Check it as you edit:   pelvic-spread validate {file}
# See one moment:         pelvic-spread state {file} --date 2021-06 --json
#                         pelvic-spread render {file} --date 2021-06 out.png
# Play it in the browser: pelvic-spread serve {file}
# Make a clip:            pelvic-spread export {file} clip.mp4
# The nerves, landmarks and cameras you can name: pelvic-spread info {file}
format: pelvic-spread/1
name: {title}
description: >-
  One sentence a student reads first: what happens to this patient, in plain words.
credit: >-
  Where the case comes from (a paper, with its doi, or "teaching case"). Captions are our own.
extends: {base}          # the built-in anatomy: bones, organs, dural sac, nerves

scenario:
  seed: prostate_bed              # where it starts: a landmark (see 'info') or [x, y, z] in mm
  seed_label: Prostate bed
  # What each arrow style means in THIS case (every picture's legend reads these lines).
  legend:
    solid: perineural spread along the nerve
    # dashed: across the dural sac     # needed once a route has 'style: dashed'
  routes:
    # A route is the tumour front moving along nerves, one segment after another.
    # node: a nerve id ('info' lists them); from/to: a fraction 0..1 of that nerve from its
    # proximal end, a landmark, or another nerve (the point where the two meet).
    - id: left_pelvic
      label: From the prostate bed along the left pelvic nerves to the sacral plexus
      style: solid                # solid | dashed (dashed must pass through the dural sac)
      start: 2020-03              # the front leaves the first segment then ...
      segments:
        - point: prostate_bed
        - node: inferior_hypogastric_plexus_l
          from: prostate_bed
          to: pelvic_splanchnic_l
        - node: pelvic_splanchnic_l
          from: inferior_hypogastric_plexus_l
          to: ramus_s2_l
          reach: 2020-11          # ... reaches the end of this segment on this date ...
        - node: ramus_s2_l
          from: pelvic_splanchnic_l
          to: sacral_plexus_l
        - node: sacral_plexus_l
          from: ramus_s2_l
          to: sciatic_l
          reach: 2021-04          # ... and of this one here (dates must increase)
    - id: left_sciatic
      label: Down the left sciatic nerve
      style: solid
      start: 2021-04
      end: 2022-06                # or 'speed_mm_per_month: 4', or 'reach' on the last segment
      segments:
        - node: sciatic_l
          from: 0.0
          to: 1.0
    # A dashed route: across the dural sac to the other side (uncomment with the legend line).
    # - id: bridge
    #   label: Across the dural sac to the right S1 root
    #   style: dashed
    #   start: 2022-01
    #   end: 2022-10
    #   segments:
    #     - node: ramus_s1_l
    #       from: 0.12
    #       to: 0.0
    #     - node: dural_sac
    #       at: ramus_s1_l
    #     - node: ramus_s1_r
    #       from: 0.0
    #       to: 1.0
  masses:                         # optional: a tumour mass that swells at a landmark
    - id: bed_tumour
      label: Tumour in the prostate bed
      at: prostate_bed
      growth:
        - {{date: 2020-01, radius: 0}}
        - {{date: 2021-06, radius: 4}}

timeline:
  # Animation seconds <-> dates. Between two keyframes time runs evenly, so give the quiet
  # years few seconds and the eventful months many. The first keyframe is at time 0.
  keyframes:
    - {{time: 0, date: 2020-01}}
    - {{time: 10, date: 2021-01}}
    - {{time: 30, date: 2022-06}}
    - {{time: 36, date: 2023-01}}
  # The patient's record: the chart of marker values and the marks under the timeline.
  # Every picture shows the latest value measured by its date. Leave 'record' out and no
  # chart is shown.
  record:
    marker: PSA                   # or CEA, CA-125, ...
    unit: ng/ml
    values:
      - {{date: 2020-01, value: 0, note: undetectable after treatment}}
      - {{date: 2021-02, value: 0.8}}
      - {{date: 2022-03, value: 2.5}}
    events:
      - {{id: first_symptoms, date: 2021-03, label: First left leg symptoms, short: L symptoms,
         side: left}}
      - {{id: mri, date: 2022-02, label: "MRI: left sciatic nerve enlarged", short: MRI,
         side: left}}
  # Stages: the captions, in date order; each lasts until the next one starts.
  stages:
    - id: treated
      title: After treatment
      start: 2020-01
      caption: >-
        Treatment is over and the marker cannot be measured. Cells left behind start, unseen,
        along the pelvic nerves.
    - id: symptoms
      title: Left leg symptoms
      start: 2021-03
      caption: >-
        The left leg weakens. The front has reached the sacral plexus and moves down the
        sciatic nerve.
    - id: imaging
      title: "MRI: the sciatic nerve"
      start: 2022-02
      source: Fig. 1              # optional: the figure of the paper this stage rests on
      caption: >-
        MRI shows the left sciatic nerve thick and enhancing: perineural spread.
"""


def new_case(name: str, output: Path | None = None, from_scene: str | None = None) -> Path:
    """Write a new case file and check that it loads; returns its path. UserError if it
    exists already or cannot be written."""
    path = Path(output) if output is not None else Path(name if name.endswith(".yaml")
                                                        else f"{name}.yaml")
    if path.exists():
        raise UserError(f"{path}: already exists (choose another name or remove it)")
    if not path.parent.is_dir():
        raise UserError(f"{path}: folder {path.parent} does not exist")
    title = Path(name).stem.replace("_", " ").replace("-", " ").strip().capitalize() or "Case"
    if from_scene is None:
        base = _relative(SCENES_DIR / "base_anatomy.yaml", path.parent)
        text = TEMPLATE.format(title=title, file=path.name, base=base)
    else:
        text = _copy_of(resolve_scene_path(from_scene), path, title)
    tmp = path.with_name(f".{path.name}.part{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        load_scene(path)
    except SceneError:
        path.unlink(missing_ok=True)
        raise
    return path


def _relative(target: Path, start: Path) -> str:
    return os.path.relpath(target.resolve(), start.resolve())


def _copy_of(source: Path, path: Path, title: str) -> str:
    """A standalone copy of an existing case: its anatomy by ``extends``, its scenario and
    timeline written out in full (as merged over what it extends) for editing."""
    from app import anatomy

    read = read_scene(source, procedural=anatomy)
    if read.scenario is None or read.timeline is None:
        raise UserError(f"{source}: has no scenario and timeline to start from")
    yaml = YAML(typ="rt")
    yaml.width = 96
    yaml.indent(mapping=2, sequence=4, offset=2)
    base = _anatomy_of(source)
    buf = io.StringIO()
    yaml.dump({"scenario": read.scenario.value, "timeline": read.timeline.value}, buf)
    return (f"# {title}: a case for pelvic-spread, started from {source.name}.\n"
            f"# Check it as you edit: pelvic-spread validate {path.name}\n"
            f"# Nerves, landmarks and cameras you can name: pelvic-spread info {path.name}\n"
            "format: pelvic-spread/1\n"
            f"name: {title}\n"
            "description: >-\n  What happens to this patient, in plain words.\n"
            "credit: >-\n  Where the case comes from. Captions are our own.\n"
            f"extends: {_relative(base, path.parent)}\n\n" + buf.getvalue())


def _anatomy_of(source: Path) -> Path:
    """The scene a case's anatomy comes from: the end of its ``extends`` chain that has nodes
    (for the built-in cases, base_anatomy.yaml)."""
    yaml = YAML(typ="safe")
    current = source.resolve()
    for _ in range(16):
        data = yaml.load(current.read_text()) or {}
        if "nodes" in data or "extends" not in data:
            return current
        current = (current.parent / str(data["extends"])).resolve()
    return current
