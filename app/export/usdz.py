"""USDZ for Keynote and AR Quick Look, from the same :class:`SlideScene` as the GLB.

Written with ``usd-core`` (``pxr``) as ARKit's rules want it: one binary ``.usdc`` root layer
in the package, ``upAxis`` Y and ``metersPerUnit`` 1, a ``defaultPrim``, prim types from the
allowed list (Xform, Mesh, Material, Shader, Scope), ``UsdPreviewSurface`` materials bound
through ``MaterialBindingAPI``. The animation is time-sampled ``xformOp``s (translate, orient,
scale) at :data:`TIME_CODES_PER_SECOND`. USD interpolates samples linearly, so a STEP key is
written as two samples :data:`STEP_CODES` apart. Every node is an Xform and its surface a
``Geom`` Mesh child, since a Mesh may not hold other geometry (encapsulation rule). Shared
surfaces are written once per node (USD instancing is not used, for Quick Look's sake).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from app.export.slides import Item, SlideScene, Track

TIME_CODES_PER_SECOND = 30.0
STEP_CODES = 0.01  # a STEP key's two samples are this many time codes apart
GEOM = "Geom"
LOOKS = "Looks"


def write_usdz(slide: SlideScene, path: Path) -> None:
    """Write ``slide`` to ``path`` as a USDZ package (the root layer is ``<name>.usdc``)."""
    from pxr import Tf, UsdUtils

    with tempfile.TemporaryDirectory(prefix="pelvic-spread-usd-") as tmp:
        layer = Path(tmp) / f"{slide.name}.usdc"
        package = Path(tmp) / f"{slide.name}.usdz"
        try:
            write_usdc(slide, layer)
            if not UsdUtils.CreateNewARKitUsdzPackage(str(layer), str(package)):
                raise OSError(f"usd-core could not package {layer.name}")
        except Tf.ErrorException as exc:  # USD's own errors: say what, not where in C++
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            what = lines[-1].split(" : ", 1)[-1].strip("'") if lines else "unknown error"
            raise OSError(f"usd-core could not write the model in {tmp} ({what[:200]})") from None
        shutil.copyfile(package, path)


def write_usdc(slide: SlideScene, path: Path) -> None:
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade, Vt

    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    if slide.timemap is not None and slide.duration > 0:
        stage.SetTimeCodesPerSecond(TIME_CODES_PER_SECOND)
        stage.SetFramesPerSecond(TIME_CODES_PER_SECOND)
        stage.SetStartTimeCode(0.0)
        stage.SetEndTimeCode(slide.duration * TIME_CODES_PER_SECOND)
    layer_data = {"generator": "pelvic-spread (app/export/usdz.py)",
                  "units": "metres, +Y up, +Z anterior: (X, Y, Z) = (x, z, -y) / 1000 of LPS mm"}
    if slide.credit:
        layer_data["credit"] = slide.credit
    if slide.moments:
        layer_data["moments"] = "; ".join(f"{m.clip_s:.3f} s = {m.date} {m.stage}".strip()
                                          for m in slide.moments)
    stage.GetRootLayer().customLayerData = layer_data

    paths: dict[str, Sdf.Path] = {}
    root = next(it for it in slide.items if it.parent is None)
    root_path = Sdf.Path.absoluteRootPath.AppendChild(root.name)

    materials: dict[str, UsdShade.Material] = {}
    looks_path = root_path.AppendChild(LOOKS)

    def material(key: str) -> UsdShade.Material:
        if key in materials:
            return materials[key]
        if not stage.GetPrimAtPath(looks_path):
            UsdGeom.Scope.Define(stage, looks_path)
        look = slide.looks[key]
        mat = UsdShade.Material.Define(stage, looks_path.AppendChild(key))
        shader = UsdShade.Shader.Define(stage, mat.GetPath().AppendChild("PreviewSurface"))
        shader.CreateIdAttr("UsdPreviewSurface")
        shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).Set(Gf.Vec3f(*look.linear))
        shader.CreateInput("opacity", Sdf.ValueTypeNames.Float).Set(float(look.opacity))
        shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(float(look.roughness))
        shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(0.0)
        mat.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
        materials[key] = mat
        return mat

    for it in slide.items:
        p = root_path if it.parent is None else paths[it.parent].AppendChild(it.name)
        paths[it.name] = p
        xform = UsdGeom.Xform.Define(stage, p)
        prim = xform.GetPrim()
        if it.label:
            prim.SetDisplayName(it.label)
        for key in ("kind", "id", "sleeve_of", "phase", "route", "mass"):
            value = it.extras.get(key)
            if isinstance(value, str):
                prim.SetCustomDataByKey(f"pelvic_spread:{key}", value)
        if "u" in it.extras:
            prim.SetCustomDataByKey("pelvic_spread:u0", float(it.extras["u"][0]))
            prim.SetCustomDataByKey("pelvic_spread:u1", float(it.extras["u"][1]))
        _transform(xform, it)
        if it.surface is not None and it.look is not None:
            s = slide.surfaces[it.surface]
            mesh = UsdGeom.Mesh.Define(stage, p.AppendChild(GEOM))
            mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(s.points))
            mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(s.normals))
            mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
            mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(
                np.full(len(s.faces), 3, np.int32)))
            mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(
                s.faces.astype(np.int32).ravel()))
            mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
            mesh.CreateDoubleSidedAttr(True)
            lo, hi = s.points.min(axis=0), s.points.max(axis=0)
            mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)),
                                                 Gf.Vec3f(*map(float, hi))]))
            binding = UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim())
            binding.Bind(material(it.look))
    stage.SetDefaultPrim(stage.GetPrimAtPath(root_path))
    stage.GetRootLayer().Save()


def _samples(track: Track) -> list[tuple[float, np.ndarray]]:
    """(time code, value) samples; STEP keys become a hold then a jump."""
    out: list[tuple[float, np.ndarray]] = []
    codes = np.asarray(track.times, float) * TIME_CODES_PER_SECOND
    for i, (c, v) in enumerate(zip(codes, track.values, strict=True)):
        if track.step and i > 0:
            hold = max(c - STEP_CODES, (codes[i - 1] + c) / 2)
            out.append((hold, track.values[i - 1]))
        out.append((float(c), v))
    return out


def _transform(xform, it: Item) -> None:
    from pxr import Gf, UsdGeom

    tracks = {tr.path: tr for tr in it.tracks}
    if "translation" in tracks or any(abs(v) > 0 for v in it.translation):
        op = xform.AddTranslateOp(UsdGeom.XformOp.PrecisionFloat)
        if "translation" in tracks:
            for code, v in _samples(tracks["translation"]):
                op.Set(Gf.Vec3f(*map(float, v)), code)
        else:
            op.Set(Gf.Vec3f(*map(float, it.translation)))
    if "rotation" in tracks or tuple(it.rotation) != (0.0, 0.0, 0.0, 1.0):
        op = xform.AddOrientOp(UsdGeom.XformOp.PrecisionFloat)

        def quat(q) -> Gf.Quatf:
            x, y, z, w = (float(c) for c in q)
            return Gf.Quatf(w, Gf.Vec3f(x, y, z)).GetNormalized()

        if "rotation" in tracks:
            for code, v in _samples(tracks["rotation"]):
                op.Set(quat(v), code)
        else:
            op.Set(quat(it.rotation))
    if "scale" in tracks or tuple(it.scale) != (1.0, 1.0, 1.0):
        op = xform.AddScaleOp(UsdGeom.XformOp.PrecisionFloat)
        if "scale" in tracks:
            for code, v in _samples(tracks["scale"]):
                op.Set(Gf.Vec3f(*map(float, v)), code)
        else:
            op.Set(Gf.Vec3f(*map(float, it.scale)))
