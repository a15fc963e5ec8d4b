/* Pelvic spread player: the whole animation in the browser, from a static bundle.
 *
 * The bundle (app/player/bundle.py) holds the geometry once, the arrival-time scalars, the
 * timeline, the record, the cameras and the legend. Per frame the player computes the state
 * itself (timeline.js) and changes only lookup-table ranges, matrices and visibility on vtk.js
 * objects built once; it never waits for a server. The page UI (page.js), `serve`'s view and
 * lecture followers drive it through this API.
 *
 * API
 * ---
 *   const player = createPlayer(container, bundle, options)
 *     container  an element; the player fills it (a canvas plus an overlay layer)
 *     bundle     parseBundle()/decodeBundle()/fetchBundle() output: {header, array(ref)}
 *     options    {time: seconds (default: the end), camera: preset name (default: the
 *                 bundle's), interactive: true (mouse turns the camera), labels: false,
 *                 clock: () => ms
 *                 (default Date.now: the wall clock play() anchors are read against),
 *                 size: [w, h] (a fixed picture size; default: the container's),
 *                 slide: true (colour ranges slide in the shader; false: vtk.js moves its
 *                 tables' ranges, slower, the same colours),
 *                 fxaa: true (antialiased by FXAA, as `render` is; false: not at all)}
 *
 *   player.header                   the bundle's header (name, cameras, timeline, legend...)
 *   player.setTime(t)               show animation time t (clamped); pauses nothing
 *   player.getTime()                the time shown
 *   player.state()                  the state shown: {time, day, date, stageIndex, stage,
 *                                   psa, psaText, label, nerveRange, arrowRange, heads, ...}
 *   player.stateAt(t)               the state at t, without showing it (pure)
 *   player.play({anchorTime, anchorWallClock, speed})
 *                                   play from anchorTime at anchorWallClock (clock() ms),
 *                                   speed animation seconds per second; all optional
 *                                   (default: from now, at the current time and speed).
 *                                   Followers given the same anchor show the same moment.
 *   player.pause()                  stop where it is
 *   player.isPlaying()
 *   player.seek(t)                  go to t; keeps playing (re-anchored) if it was
 *   player.setSpeed(s)              playback speed (re-anchored)
 *   player.setStage(i)              seek to stage i's start; nextStage(), prevStage()
 *   player.setCamera(preset | {position, focalPoint, viewUp, viewAngle}, {animate})
 *                                   animate: true (0.8 s), seconds, or false; a preset's
 *                                   `hide` list applies while it is the current preset
 *   player.getCamera()              {position, focalPoint, viewUp, viewAngle, preset}
 *   player.setVisible(idOrIds, on)  show/hide nodes; a group id means its subtree
 *   player.isVisible(id)            a drawable's own switch (before a preset's hide list)
 *   player.setLook(id, {opacity, color})
 *                                   a drawable's opacity (0..1) and colour ([r, g, b] 0..1
 *                                   or "#rrggbb"); null or a missing field: the bundle's own
 *   player.setLooks({id: {visible, opacity, color}})
 *                                   many drawables at once, groups switched on (each listed
 *                                   drawable's own `visible` decides; null: as the scene file
 *                                   has it, groups above included). The page `serve` shows
 *                                   sets the structure panel's looks so, and followers the
 *                                   presenter's
 *   player.getLook(id)              {visible, opacity, color} of a drawable as drawn now
 *   player.setLabels(on)            labels on key structures
 *   player.setSlab(message | null)  a slab through the scene (null: the whole scene again).
 *                                   message: app.render.slab.slab_message's JSON, {planes:
 *                                   [[x, y, z, nx, ny, nz] x 2] (a point and the normal
 *                                   keeping the inside), axes: {u, v, normal}, caps: [{node,
 *                                   face, origin, u, v, scale, uv, tri, index, arrival?}]
 *                                   (base64), ghosts: [node ids drawn faint outside],
 *                                   look: {capShade, ...}}. Both planes clip every surface;
 *                                   caps close cut solids (a nerve's cap coloured by arrival
 *                                   through the nerve's own table), discs cap cut masses
 *                                   (moved per frame by matrix only). Returns
 *                                   {clipped: mappers clipped, caps: caps drawn}
 *   player.getSlab()                the message shown, or null
 *   player.on(event, cb)            returns an unsubscribe function. Events:
 *       'time'   (state)           every time shown (playing or seeking)
 *       'stage'  (index, state)    the stage changed
 *       'play'   ({playing, anchorTime, anchorWallClock, speed})
 *       'camera' (camera, {source: 'user'|'preset'|'api', end: bool})  end: a move ended
 *       'visibility' ({id: bool})  'labels' (bool)  'frame' ()  after each rendered frame
 *   player.toScreen([x, y, z])      a world point's [x, y] in CSS px from the view's top left,
 *                                   or null behind the camera
 *   player.render()                 draw now (normally scheduled on the next frame)
 *   player.resize()                 after the container changed size
 *   player.destroy()
 *   player.ready                    a promise: resolves after the first frame is drawn
 */

// the WebGL view nodes the scene uses (the Geometry profile also brings axes, scalar bars,
// 2D mappers and a skybox: a fifth of the script, compiled on every open)
import "@kitware/vtk.js/Rendering/OpenGL/Actor";
import "@kitware/vtk.js/Rendering/OpenGL/Camera";
import "@kitware/vtk.js/Rendering/OpenGL/PolyDataMapper";
import "@kitware/vtk.js/Rendering/OpenGL/Renderer";
import vtkDataArray from "@kitware/vtk.js/Common/Core/DataArray";
import vtkLookupTable from "@kitware/vtk.js/Common/Core/LookupTable";
import vtkCellArray from "@kitware/vtk.js/Common/Core/CellArray";
import vtkPolyData from "@kitware/vtk.js/Common/DataModel/PolyData";
import vtkPlane from "@kitware/vtk.js/Common/DataModel/Plane";
import vtkActor from "@kitware/vtk.js/Rendering/Core/Actor";
import vtkMapper from "@kitware/vtk.js/Rendering/Core/Mapper";
import vtkLight from "@kitware/vtk.js/Rendering/Core/Light";
import vtkRenderer from "@kitware/vtk.js/Rendering/Core/Renderer";
import vtkRenderWindow from "@kitware/vtk.js/Rendering/Core/RenderWindow";
import vtkRenderWindowInteractor from "@kitware/vtk.js/Rendering/Core/RenderWindowInteractor";
import vtkOpenGLRenderWindow from "@kitware/vtk.js/Rendering/OpenGL/RenderWindow";
import vtkInteractorStyleTrackballCamera from "@kitware/vtk.js/Interaction/Style/InteractorStyleTrackballCamera";

import { makeTimeline } from "./timeline.js";
import { fxaaPass } from "./fxaa.js";
import { interpolate, ease, project } from "./camera.js";

const TRANSITION_S = 0.8;

/** Row-major 4x4 (the bundle's and Python's) -> column-major (vtk.js's user matrix). */
function colMajor(m) {
  return [m[0], m[4], m[8], m[12], m[1], m[5], m[9], m[13], m[2], m[6], m[10], m[14],
    m[3], m[7], m[11], m[15]];
}

function polyData(geom, array) {
  const q = array(geom.points);
  const n = q.length / 3;
  const pts = new Float32Array(q.length);
  const ranges = [];
  for (let k = 0; k < 3; k++) {
    const lo = geom.min[k];
    const step = geom.step[k];
    let qmin = 65535;
    let qmax = 0;
    for (let i = k; i < q.length; i += 3) {
      const v = q[i];
      pts[i] = lo + v * step;
      if (v < qmin) qmin = v;
      if (v > qmax) qmax = v;
    }
    ranges.push(n ? { min: Math.fround(lo + qmin * step), max: Math.fround(lo + qmax * step) }
      : { min: 0, max: 0 });
  }
  const tris = array(geom.tris);
  const m = tris.length / 3;
  const cells = new Uint32Array(4 * m);
  for (let i = 0; i < m; i++) {
    cells[4 * i] = 3;
    cells[4 * i + 1] = tris[3 * i];
    cells[4 * i + 2] = tris[3 * i + 1];
    cells[4 * i + 3] = tris[3 * i + 2];
  }
  const pd = vtkPolyData.newInstance();
  pd.getPoints().setData(pts, 3);
  // the ranges fell out of the loop above: vtk.js need not scan the points for its bounds
  ranges.forEach((r, k) => pd.getPoints().setRange(r, k));
  pd.setPolys(vtkCellArray.newInstance({ values: cells }));
  if (geom.normals) {
    const qn = array(geom.normals);
    const nrm = new Float32Array(qn.length);
    for (let i = 0; i < qn.length; i++) nrm[i] = qn[i] / 127;
    pd.getPointData().setNormals(vtkDataArray.newInstance({
      name: "Normals", numberOfComponents: 3, values: nrm }));
  }
  return pd;
}

function lookupTable(spec) {
  const lut = vtkLookupTable.newInstance();
  if (spec.below) {
    lut.setBelowRangeColor(...spec.below);
    lut.setUseBelowRangeColor(true);
  }
  if (spec.above) {
    lut.setAboveRangeColor(...spec.above);
    lut.setUseAboveRangeColor(true);
  }
  lut.setNanColor(...spec.nan);
  const rows = [];
  for (let i = 0; i < spec.table.length; i += 4) rows.push(spec.table.slice(i, i + 4));
  lut.setTable(rows);
  return lut;
}

/** vtk.js's texture coordinate of a value v for range r and n colours: (v - origin) * scale
 * (ScalarColoringHelper: the range's ends on the centres of texels 1 and n). */
function texelMap(r, n) {
  const w = (r[1] - r[0]) / (n - 1);
  return { origin: r[0] - 1.5 * w, scale: 1 / (r[1] - r[0] + 3 * w) };
}

function makeLight(spec) {
  const light = vtkLight.newInstance();
  // a VTK headlight in a set of several is a camera light at (0, 0, 1): vtk.js shades
  // non-scene lights by their direction in view coordinates
  light.setLightType(spec.type === "HeadLight" ? "CameraLight" : spec.type);
  light.setPosition(...spec.position);
  light.setFocalPoint(...spec.focal);
  light.setColor(...spec.color);
  light.setIntensity(spec.intensity);
  light.setPositional(false);
  return light;
}

// vtk.js's own choice, as its get3DContext asks, but single-sampled: the view is antialiased
// by the FXAA pass (fxaa.js), as `render`'s stills are, at a fraction of the cost
const CONTEXT = {
  preserveDrawingBuffer: false, depth: true, alpha: true, powerPreference: "high-performance",
  antialias: false,
};

/** [r, g, b] 0..1 from an array or "#rrggbb"; null for anything else. */
function colour(c) {
  if (Array.isArray(c) && c.length === 3) return c.map(Number);
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(typeof c === "string" ? c : "");
  return m ? [1, 2, 3].map((i) => parseInt(m[i], 16) / 255) : null;
}

export function createPlayer(container, bundle, options = {}) {
  const H = bundle.header;
  const array = bundle.array;
  const clock = options.clock || (() => Date.now());
  const listeners = {};
  const emit = (name, ...args) => (listeners[name] || []).forEach((cb) => cb(...args));

  // -- DOM ---------------------------------------------------------------------------------
  container.classList.add("psp-root");
  const canvasBox = document.createElement("div");
  canvasBox.className = "psp-canvas";
  container.appendChild(canvasBox);
  const overlay = document.createElement("div");
  overlay.className = "psp-overlay";
  container.appendChild(overlay);

  // -- vtk.js scene ------------------------------------------------------------------------
  const renderWindow = vtkRenderWindow.newInstance();
  const glWindow = vtkOpenGLRenderWindow.newInstance();
  // The canvas takes its size before the context exists: resizing it afterwards makes the
  // browser reallocate the drawing buffer (about 80 ms on a software GPU).
  function sizeCanvas() {
    const w = options.size ? options.size[0] : container.clientWidth;
    const h = options.size ? options.size[1] : container.clientHeight;
    const dpr = options.size ? 1 : window.devicePixelRatio || 1;
    const size = [Math.max(1, Math.floor(w * dpr)), Math.max(1, Math.floor(h * dpr))];
    glWindow.setSize(...size);
    const canvas = glWindow.getCanvas();
    if (canvas.width !== size[0]) canvas.width = size[0];
    if (canvas.height !== size[1]) canvas.height = size[1];
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
  }
  sizeCanvas();
  // Translucent surfaces blend in actor order with depth writes off, as VTK does without
  // depth peeling (what the still renderer uses): vtk.js takes that path when the context
  // has no float colour buffers, so hide them. It is also cheaper than vtk.js's
  // order-independent pass (a float framebuffer, a depth pre-pass of every opaque surface).
  // vtk.js freezes its objects, so this shapes the context itself: the canvas hands vtk.js
  // the context made here (the first getContext call fixes its attributes).
  const gl = glWindow.getCanvas().getContext("webgl2", CONTEXT);
  if (!gl) throw new Error("this browser offers no WebGL 2, which the 3D view needs");
  const getExtension = gl.getExtension.bind(gl);
  const floatBuffers = /^EXT_color_buffer(_half)?_float$/;
  gl.getExtension = (name) => (floatBuffers.test(name) ? null : getExtension(name));
  const fxaa = options.fxaa !== false ? fxaaPass(gl) : null; // (before vtk.js sets any state)
  renderWindow.addView(glWindow);
  glWindow.setContainer(canvasBox);
  // every frame, whoever asks for it (the player, the mouse), ends with the FXAA pass
  if (fxaa) glWindow.setRenderPasses([...glWindow.getRenderPasses(), fxaa]);
  const base = vtkRenderer.newInstance();
  base.setBackground(...H.background);
  const top = vtkRenderer.newInstance();
  renderWindow.addRenderer(base);
  renderWindow.addRenderer(top);
  renderWindow.setNumberOfLayers(2);
  top.setLayer(1);
  top.setPreserveColorBuffer(true);
  top.setInteractive(false);
  const camera = base.getActiveCamera();
  top.setActiveCamera(camera);
  [base, top].forEach((ren, i) => {
    ren.setAutomaticLightCreation(false);
    ren.setTwoSidedLighting(true);
    (H.lights[i] || []).forEach((spec) => {
      // a lone headlight of intensity 1 takes VTK's (and vtk.js's) simple shading path
      const lone = H.lights[i].length === 1 && spec.type === "HeadLight" && spec.intensity === 1;
      if (lone) {
        const l = vtkLight.newInstance();
        l.setLightTypeToHeadLight();
        ren.addLight(l);
      } else {
        ren.addLight(makeLight(spec));
      }
    });
  });

  const geoms = H.geoms.map((g) => polyData(g, array));
  const uses = new Array(geoms.length).fill(0);
  H.actors.forEach((a) => { uses[a.geom] += 1; });
  const luts = H.luts.map(lookupTable);
  // Sliding colour ranges. A vertex's colour is its arrival time through a lookup table whose
  // range slides with the time shown (timeline.js: nerveRange, arrowRange). Moving a vtk.js
  // table's range makes every surface it colours rebuild its texture coordinates, colour
  // texture and vertex buffer, each frame (about 40 ms of script per frame here). So each
  // table keeps one range (the right width, ending at 0) and the vertex shader maps a texture
  // coordinate s to a * s + b: the linear map between vtk.js's coordinates for the two ranges
  // (ScalarColoringHelper: the range's ends sit on the centres of texels 1 and n, the below
  // and above colours outside them). The same colours; a frame changes two numbers a table.
  // options.slide === false moves the tables' ranges instead (vtk.js's own way, for tests).
  const sliding = options.slide !== false;
  const ranges = H.luts.map((spec, i) => {
    const width = spec.range === "nerve" && H.timeline ? H.timeline.leadTime : 1;
    luts[i].setMappingRange(-width, 0);
    luts[i].build();
    const n = Math.min(Math.max(luts[i].getNumberOfAvailableColors(), 2), 4094);
    return { kind: spec.range, n, from: texelMap([-width, 0], n), remap: [1, 0] };
  });
  function slide(state) {
    ranges.forEach((g, i) => {
      const r = g.kind === "nerve" ? state.nerveRange : state.arrowRange;
      if (!sliding) {
        luts[i].setMappingRange(...r);
        return;
      }
      const to = texelMap(r, g.n);
      g.remap[0] = to.scale / g.from.scale;
      g.remap[1] = (g.from.origin - to.origin) * to.scale;
    });
  }
  const REMAP = [
    { shaderType: "Vertex", originalValue: "attribute vec2 tcoordMC;",
      replacementValue: "attribute vec2 tcoordMC;\nuniform vec2 remapTCoord;",
      replaceFirst: false, replaceAll: false },
    { shaderType: "Vertex", originalValue: "tcoordVCVSOutput = tcoordMC;",
      replacementValue: "tcoordVCVSOutput = vec2(remapTCoord.x * tcoordMC.s + remapTCoord.y, tcoordMC.t);",
      replaceFirst: false, replaceAll: false },
  ];
  /** Colour a mapper's surface by its "arrival" point array through table i, sliding. */
  function colourByArrival(mapper, i) {
    mapper.setLookupTable(luts[i]);
    mapper.setUseLookupTableScalarRange(true);
    mapper.setScalarModeToUsePointFieldData();
    mapper.setColorByArrayName("arrival");
    mapper.setColorModeToMapScalars();
    mapper.setInterpolateScalarsBeforeMapping(true);
    mapper.setScalarVisibility(true);
    const remap = ranges[i].remap;
    mapper.setViewSpecificProperties({
      OpenGL: { ShaderReplacements: REMAP },
      ShadersCallbacks: [{
        userData: remap,
        callback(m, cellBO) {
          const program = cellBO.getProgram();
          if (program.isUniformUsed("remapTCoord")) program.setUniform2f("remapTCoord", m[0], m[1]);
        },
      }],
    });
  }
  const actors = {};
  const nodeActors = [];
  // actors whose surface is closed and faces out (the bundle says which): while one is opaque
  // and nothing is cut open, its back faces are never seen, and skipping them takes about a
  // third off a frame in software WebGL (cullBacks)
  const closedActors = [];
  H.actors.forEach((a) => {
    const mapper = vtkMapper.newInstance();
    let pd = geoms[a.geom];
    if (a.arrival) {
      // each coloured surface carries its own arrival array (a shared geometry is copied)
      if (uses[a.geom] > 1) {
        pd = vtkPolyData.newInstance();
        pd.shallowCopy(geoms[a.geom]);
      }
      pd.getPointData().addArray(vtkDataArray.newInstance({
        name: "arrival", numberOfComponents: 1, values: array(a.arrival) }));
      colourByArrival(mapper, a.lut);
    } else {
      mapper.setScalarVisibility(false);
    }
    mapper.setInputData(pd);
    const actor = vtkActor.newInstance();
    actor.setMapper(mapper);
    const p = actor.getProperty();
    p.setColor(...a.prop.color);
    p.setOpacity(a.prop.opacity);
    p.setAmbient(a.prop.ambient);
    p.setDiffuse(a.prop.diffuse);
    p.setSpecular(a.prop.specular);
    p.setSpecularPower(a.prop.specularPower);
    if (a.prop.flat) p.setInterpolationToFlat();
    else p.setInterpolationToPhong();
    actor.setVisibility(!!a.visible);
    (a.layer === 1 ? top : base).addActor(actor);
    actors[a.id] = actor;
    if (a.kind === "node") nodeActors.push(a.id);
    if (H.geoms[a.geom].closed) closedActors.push(actor);
  });

  // Clipping range from everything that can be drawn (both layers share the camera).
  const bounds = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
  geoms.forEach((pd) => {
    const b = pd.getBounds();
    for (let k = 0; k < 3; k++) {
      bounds[2 * k] = Math.min(bounds[2 * k], b[2 * k]);
      bounds[2 * k + 1] = Math.max(bounds[2 * k + 1], b[2 * k + 1]);
    }
  });
  H.timeline?.masses.forEach((m) => {
    const r = Math.max(...m.knotRadius);
    for (let k = 0; k < 3; k++) {
      bounds[2 * k] = Math.min(bounds[2 * k], m.center[k] - r);
      bounds[2 * k + 1] = Math.max(bounds[2 * k + 1], m.center[k] + r);
    }
  });
  const resetClipping = base.resetCameraClippingRange;
  base.resetCameraClippingRange = () => resetClipping(bounds);

  // -- timeline ----------------------------------------------------------------------------
  let timeline = null;
  if (H.timeline) {
    const tl = Object.assign({}, H.timeline);
    tl.routes = H.timeline.routes.map((r) => Object.assign({}, r, {
      path: array(r.path), s: array(r.s), headS: r.headS ? array(r.headS) : null,
      headPoints: r.headPoints ? array(r.headPoints) : null }));
    timeline = makeTimeline(tl);
  }

  let current = null;
  let playing = null; // {anchorTime, anchorWallClock, speed}
  let speed = 1;

  function apply(state) {
    slide(state);
    for (const [id, h] of Object.entries(state.heads)) {
      const a = actors[`head:${id}`];
      if (!a) continue;
      a.setVisibility(h.visible);
      a.setUserMatrix(colMajor(h.matrix));
    }
    for (const [id, m] of Object.entries(state.masses)) {
      const a = actors[`mass:${id}`];
      if (!a) continue;
      a.setVisibility(m.visible);
      a.setUserMatrix(colMajor(m.matrix));
    }
    placeDiscs(state);
  }

  function showTime(t) {
    if (!timeline) return null;
    const before = current;
    current = timeline.stateAt(t);
    apply(current);
    schedule();
    emit("time", current);
    if (!before || before.stageIndex !== current.stageIndex) emit("stage", current.stageIndex, current);
    return current;
  }

  // -- visibility ---------------------------------------------------------------------------
  const nodes = {};
  H.nodes.forEach((n) => {
    nodes[n.id] = Object.assign({ children: [] }, n);
  });
  H.nodes.forEach((n) => {
    if (n.parent && nodes[n.parent]) nodes[n.parent].children.push(n.id);
  });
  const subtree = (id) => {
    const out = [];
    const stack = [id];
    while (stack.length) {
      const k = stack.pop();
      if (!nodes[k]) continue;
      out.push(k);
      stack.push(...nodes[k].children);
    }
    return out;
  };
  const nodeSpecs = Object.fromEntries(H.actors.filter((a) => a.kind === "node")
    .map((a) => [a.id, a])); // the bundle's drawables
  const switchedOn = {}; // node id -> bool (every node, groups included)
  H.nodes.forEach((n) => {
    switchedOn[n.id] = n.visible !== false;
  });
  let presetHidden = new Set();
  function effective(id) {
    if (presetHidden.has(id)) return false;
    for (let k = id; k; k = nodes[k] && nodes[k].parent) if (!switchedOn[k]) return false;
    return true;
  }
  /** Shown as the scene file has it: the node and every group above it. */
  function filed(id) {
    for (let k = id; k; k = nodes[k] && nodes[k].parent) {
      if (!nodes[k] || nodes[k].visible === false) return false;
    }
    return true;
  }
  /** A drawable's opacity and colour (null or missing: the bundle's own); no redraw. */
  function paint(id, look) {
    const a = actors[id];
    const spec = nodeSpecs[id];
    if (!a || !spec) throw new Error(`unknown structure '${id}'`);
    const p = a.getProperty();
    const opacity = look && look.opacity !== undefined && look.opacity !== null
      ? Math.min(1, Math.max(0, Number(look.opacity))) : spec.prop.opacity;
    p.setOpacity(opacity);
    p.setColor(...((look && colour(look.color)) || spec.prop.color));
  }
  function refreshVisibility() {
    nodeActors.forEach((id) => actors[id].setVisibility(effective(id)));
    slabLooks();
    schedule();
  }

  // -- camera -----------------------------------------------------------------------------
  let presetName = null;
  let flight = 0;
  const camNow = () => ({
    position: camera.getPosition(), focalPoint: camera.getFocalPoint(),
    viewUp: camera.getViewUp(), viewAngle: camera.getViewAngle(), preset: presetName,
  });
  function setCameraNow(c) {
    camera.setPosition(...c.position);
    camera.setFocalPoint(...c.focalPoint);
    camera.setViewUp(...c.viewUp);
    camera.setViewAngle(c.viewAngle);
    base.resetCameraClippingRange();
  }
  function findPreset(name) {
    return H.cameras.find((c) => c.name === name) || (H.camera.name === name ? H.camera : null);
  }

  // -- labels on key structures (HTML over the canvas) -------------------------------------
  let labelsOn = !!options.labels;
  const labelLayer = document.createElement("div");
  labelLayer.className = "psp-labels";
  overlay.appendChild(labelLayer);
  const labelEls = H.labels.map((a) => {
    const el = document.createElement("div");
    el.className = "psp-label";
    el.textContent = a.text;
    labelLayer.appendChild(el);
    return el;
  });
  function placeLabels() {
    labelLayer.style.display = labelsOn ? "" : "none";
    if (!labelsOn) return;
    const rect = container.getBoundingClientRect();
    const aspect = rect.width / Math.max(1, rect.height);
    const placed = [];
    H.labels.forEach((a, i) => {
      const el = labelEls[i];
      const q = effective(a.id) ? project(camNow(), aspect, a.pos) : null;
      if (!q || q[0] < 0 || q[0] > 1 || q[1] < 0 || q[1] > 1) {
        el.style.display = "none";
        return;
      }
      el.style.display = "";
      const w = el.offsetWidth;
      const h = el.offsetHeight + 2;
      const x = q[0] * rect.width;
      let y = q[1] * rect.height;
      for (let k = 0; k < 6; k++) {
        const hit = placed.find((b) => Math.abs(b[0] - x) < (b[2] + w) / 2 && Math.abs(b[1] - y) < h);
        if (!hit) break;
        y = hit[1] + h;
      }
      placed.push([x, y, w]);
      el.style.left = `${x.toFixed(1)}px`;
      el.style.top = `${y.toFixed(1)}px`;
    });
  }

  // -- slab: two clipping planes on every mapper, caps, mass discs, faint context ------------
  // Geometry is built per slab move only; per frame the discs move by matrix (placeDiscs).
  const slabPlanes = [vtkPlane.newInstance(), vtkPlane.newInstance()];
  let slab = null; // the message shown
  let clipped = []; // mappers carrying the planes
  let caps = []; // {node, actor}
  const ghosts = {}; // node id -> actor (the whole surface, unclipped, faint)
  const discs = {}; // mass id -> [lower, upper] actors (a unit disc)
  const specOf = {};
  H.actors.forEach((a) => {
    specOf[a.id] = a;
  });

  function bytesOf(b64) {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out.buffer;
  }

  function capActor(item, look) {
    const uv = new Int16Array(bytesOf(item.uv));
    const tri = item.index === "uint32" ? new Uint32Array(bytesOf(item.tri))
      : new Uint16Array(bytesOf(item.tri));
    const n = uv.length / 2;
    const pts = new Float32Array(3 * n);
    const [o, u, v, k] = [item.origin, item.u, item.v, 1 / item.scale];
    for (let i = 0; i < n; i++) {
      const a = uv[2 * i] * k;
      const b = uv[2 * i + 1] * k;
      for (let j = 0; j < 3; j++) pts[3 * i + j] = o[j] + a * u[j] + b * v[j];
    }
    const m = tri.length / 3;
    const cells = new Uint32Array(4 * m);
    for (let i = 0; i < m; i++) {
      cells[4 * i] = 3;
      cells[4 * i + 1] = tri[3 * i];
      cells[4 * i + 2] = tri[3 * i + 1];
      cells[4 * i + 3] = tri[3 * i + 2];
    }
    const pd = vtkPolyData.newInstance();
    pd.getPoints().setData(pts, 3);
    pd.setPolys(vtkCellArray.newInstance({ values: cells }));
    const mapper = vtkMapper.newInstance();
    const spec = specOf[item.node];
    if (item.arrival && spec && spec.arrival) {
      // a cut nerve shows the spread as its surface does: the same table, the same range
      pd.getPointData().addArray(vtkDataArray.newInstance({
        name: "arrival", numberOfComponents: 1, values: new Float32Array(bytesOf(item.arrival)) }));
      colourByArrival(mapper, spec.lut);
    } else {
      mapper.setScalarVisibility(false);
    }
    mapper.setInputData(pd);
    const actor = vtkActor.newInstance();
    actor.setMapper(mapper);
    const p = actor.getProperty();
    p.setAmbient(look.capAmbient);
    p.setDiffuse(look.capDiffuse);
    p.setSpecular(0);
    return actor;
  }

  function unitDisc(sides) {
    const pts = new Float32Array(3 * (sides + 1));
    const cells = new Uint32Array(4 * sides);
    for (let i = 0; i < sides; i++) {
      const t = (2 * Math.PI * i) / sides;
      pts[3 * (i + 1)] = Math.cos(t);
      pts[3 * (i + 1) + 1] = Math.sin(t);
      cells.set([3, 0, 1 + i, 1 + ((i + 1) % sides)], 4 * i);
    }
    const pd = vtkPolyData.newInstance();
    pd.getPoints().setData(pts, 3);
    pd.setPolys(vtkCellArray.newInstance({ values: cells }));
    return pd;
  }

  /** Caps and ghosts take their structure's visibility, colour and opacity (after a look). */
  function slabLooks() {
    if (!slab) return;
    const look = slab.look;
    caps.forEach(({ node, actor }) => {
      const src = actors[node];
      actor.setVisibility(!!src && src.getVisibility());
      if (!src) return;
      const sp = src.getProperty();
      actor.getProperty().setColor(...sp.getColor().map((c) => c * look.capShade));
      actor.getProperty().setOpacity(sp.getOpacity());
    });
    Object.entries(ghosts).forEach(([id, g]) => {
      const on = slab.ghosts.includes(id) && actors[id].getVisibility();
      g.setVisibility(on);
      g.getProperty().setColor(...actors[id].getProperty().getColor());
    });
  }

  /** Discs where the slab's faces cut a mass (per frame: a matrix each, as SlabLayer.apply). */
  function placeDiscs(state) {
    if (!slab || !H.timeline) {
      Object.values(discs).forEach((pair) => pair.forEach((d) => d.setVisibility(false)));
      return;
    }
    const { u, v, normal } = slab.axes;
    const w = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    const axis = normal.findIndex((x) => Math.abs(x) > 0.5);
    const faces = [slab.planes[0][axis], slab.planes[1][axis]];
    H.timeline.masses.forEach((m) => {
      const pair = discs[m.id];
      const ms = state && state.masses[m.id];
      if (!pair) return;
      pair.forEach((disc, i) => {
        const d = m.center[axis] - faces[i];
        if (!ms || !ms.visible || Math.abs(d) >= ms.radius) {
          disc.setVisibility(false);
          return;
        }
        const r = Math.sqrt(ms.radius * ms.radius - d * d);
        const sign = i === 0 ? -1 : 1;
        const c = m.center.map((x, k) => x - d * normal[k] + sign * slab.look.discStep * normal[k]);
        disc.setUserMatrix(colMajor([u[0] * r, v[0] * r, w[0], c[0], u[1] * r, v[1] * r, w[1], c[1],
          u[2] * r, v[2] * r, w[2], c[2], 0, 0, 0, 1]));
        disc.setVisibility(true);
      });
    });
  }

  function setSlab(message) {
    caps.forEach(({ actor }) => {
      base.removeActor(actor);
      actor.getMapper().delete();
      actor.delete();
    });
    caps = [];
    if (!message) {
      clipped.forEach((m) => slabPlanes.forEach((p) => m.removeClippingPlane(p)));
      clipped = [];
      slab = null;
      Object.values(ghosts).forEach((g) => g.setVisibility(false));
      placeDiscs(null);
      schedule();
      return { clipped: 0, caps: 0 };
    }
    slab = message;
    slab.ghosts = slab.ghosts || [];
    const look = slab.look;
    message.planes.forEach((p, i) => {
      slabPlanes[i].setOrigin(p[0], p[1], p[2]);
      slabPlanes[i].setNormal(p[3], p[4], p[5]);
    });
    if (!clipped.length) {
      Object.values(actors).forEach((a) => {
        const m = a.getMapper();
        slabPlanes.forEach((p) => m.addClippingPlane(p));
        clipped.push(m);
      });
    }
    clipped.forEach((m) => m.modified());
    message.caps.forEach((item) => {
      if (!actors[item.node]) return;
      const actor = capActor(item, look);
      base.addActor(actor);
      caps.push({ node: item.node, actor });
    });
    slab.ghosts.forEach((id) => {
      const spec = specOf[id];
      if (ghosts[id] || !spec) return;
      const mapper = vtkMapper.newInstance();
      mapper.setInputData(geoms[spec.geom]);
      mapper.setScalarVisibility(false);
      const g = vtkActor.newInstance();
      g.setMapper(mapper);
      const p = g.getProperty();
      p.setOpacity(look.ghostOpacity);
      p.setDiffuse(look.ghostDiffuse);
      p.setAmbient(look.ghostAmbient);
      base.addActor(g);
      ghosts[id] = g;
    });
    if (H.timeline) {
      let disc = null;
      H.timeline.masses.forEach((m) => {
        const mass = actors[`mass:${m.id}`];
        if (discs[m.id] || !mass) return;
        disc = disc || unitDisc(look.discSides);
        const colour = mass.getProperty().getColor().map((c) => Math.min(1, c * look.discShade));
        discs[m.id] = [0, 1].map(() => {
          const mapper = vtkMapper.newInstance();
          mapper.setInputData(disc);
          mapper.setScalarVisibility(false);
          const a = vtkActor.newInstance();
          a.setMapper(mapper);
          a.getProperty().setColor(...colour);
          a.getProperty().setAmbient(look.discAmbient);
          a.setVisibility(false);
          top.addActor(a);
          return a;
        });
      });
    }
    slabLooks();
    placeDiscs(current);
    schedule();
    return { clipped: clipped.length, caps: caps.length };
  }

  // -- drawing -------------------------------------------------------------------------------
  let pending = false;
  let frames = 0;
  let resolveReady;
  const ready = new Promise((r) => {
    resolveReady = r;
  });
  let destroyed = false;
  function cullBacks() {
    const cut = !!slab; // a slab's planes open surfaces up
    closedActors.forEach((actor) => {
      actor.getProperty().setBackfaceCulling(!cut && actor.getIsOpaque());
    });
  }
  function render() {
    pending = false;
    if (destroyed) return;
    cullBacks();
    base.resetCameraClippingRange();
    renderWindow.render();
    placeLabels();
    frames++;
    emit("frame");
    if (frames === 1) requestAnimationFrame(() => resolveReady());
  }
  function schedule() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(render);
    }
  }

  function resize() {
    sizeCanvas();
    schedule();
  }

  // -- interaction --------------------------------------------------------------------------
  let interactor = null;
  if (options.interactive !== false) {
    interactor = vtkRenderWindowInteractor.newInstance();
    interactor.setView(glWindow);
    // initialize() draws at once, before the canvas has its size and the scene its time: a
    // whole wasted frame (shaders, buffers) on the way to the first one. The first frame is
    // the scheduled one below.
    interactor.setEnableRender(false);
    interactor.initialize();
    interactor.setEnableRender(true);
    interactor.bindEvents(canvasBox);
    const style = vtkInteractorStyleTrackballCamera.newInstance();
    interactor.setInteractorStyle(style);
    style.onStartInteractionEvent(() => {
      flight++;
      presetName = null;
    });
    style.onInteractionEvent(() => {
      placeLabels();
      emit("camera", camNow(), { source: "user", end: false });
    });
    style.onEndInteractionEvent(() => emit("camera", camNow(), { source: "user", end: true }));
  }

  // -- playback -----------------------------------------------------------------------------
  let raf = 0;
  function tick() {
    raf = 0;
    if (!playing) return;
    const t = playing.anchorTime + ((clock() - playing.anchorWallClock) / 1000) * playing.speed;
    const end = timeline.duration;
    if (t >= end) {
      showTime(end);
      api.pause();
      return;
    }
    showTime(t);
    raf = requestAnimationFrame(tick);
  }

  const api = {
    header: H,
    ready,
    get frames() {
      return frames;
    },
    stateAt: (t) => (timeline ? timeline.stateAt(t) : null),
    state: () => current,
    getTime: () => (current ? current.time : 0),
    setTime: (t) => showTime(t),
    isPlaying: () => !!playing,
    play(anchor = {}) {
      if (!timeline) return;
      let at = anchor.anchorTime ?? api.getTime();
      if (anchor.anchorTime === undefined && at >= timeline.duration - 1e-6) at = timeline.start;
      speed = anchor.speed ?? speed;
      playing = { anchorTime: at, anchorWallClock: anchor.anchorWallClock ?? clock(), speed };
      emit("play", Object.assign({ playing: true }, playing));
      if (!raf) raf = requestAnimationFrame(tick);
      tick();
    },
    pause() {
      if (!playing) return;
      playing = null;
      if (raf) cancelAnimationFrame(raf);
      raf = 0;
      emit("play", { playing: false, anchorTime: api.getTime(), anchorWallClock: clock(), speed });
    },
    seek(t) {
      if (playing) {
        playing = Object.assign({}, playing, { anchorTime: t, anchorWallClock: clock() });
        emit("play", Object.assign({ playing: true }, playing));
      }
      showTime(t);
    },
    setSpeed(s) {
      speed = Number(s) || 1;
      if (playing) api.play({ anchorTime: api.getTime(), speed });
    },
    getSpeed: () => speed,
    setStage(i) {
      if (!timeline || !timeline.stages.length) return;
      const k = Math.min(Math.max(i, 0), timeline.stages.length - 1);
      api.seek(timeline.stages[k].time);
    },
    nextStage() {
      if (!timeline) return;
      const t = api.getTime();
      const next = timeline.stages.find((s) => s.time > t + 1e-6);
      api.seek(next ? next.time : timeline.duration);
    },
    prevStage() {
      if (!timeline) return;
      const t = api.getTime();
      const before = timeline.stages.filter((s) => s.time < t - 0.4);
      api.seek(before.length ? before[before.length - 1].time : timeline.start);
    },
    setCamera(target, opts = {}) {
      let to = target;
      let name = null;
      if (typeof target === "string" || typeof target === "number") {
        const p = typeof target === "number" ? H.cameras[target] : findPreset(target);
        if (!p) throw new Error(`unknown camera '${target}'`);
        to = p;
        name = p.name;
      }
      presetName = name;
      presetHidden = new Set(name ? to.hide || [] : []);
      refreshVisibility();
      const from = camNow();
      const seconds = opts.animate === true ? TRANSITION_S : Number(opts.animate) || 0;
      const mine = ++flight;
      const source = name ? "preset" : "api";
      if (seconds <= 0) {
        setCameraNow(to);
        schedule();
        emit("camera", camNow(), { source, end: true });
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const t0 = performance.now();
        const step = (now) => {
          if (mine !== flight) return resolve();
          if (destroyed) return resolve();
          const s = Math.min(1, (now - t0) / (1000 * seconds));
          setCameraNow(interpolate(from, to, ease(s)));
          render();
          if (s < 1) requestAnimationFrame(step);
          else {
            emit("camera", camNow(), { source, end: true });
            resolve();
          }
        };
        requestAnimationFrame(step);
      });
    },
    getCamera: camNow,
    setVisible(ids, on) {
      const list = Array.isArray(ids) ? ids : [ids];
      const changed = {};
      list.forEach((id) => {
        if (!(id in switchedOn)) throw new Error(`unknown structure '${id}'`);
        switchedOn[id] = !!on;
        changed[id] = !!on;
        // switching a group on shows its subtree as the scene file has it
        if (on) subtree(id).forEach((k) => {
          if (k !== id) switchedOn[k] = nodes[k].visible !== false;
        });
      });
      refreshVisibility();
      emit("visibility", changed);
    },
    isVisible: (id) => !!switchedOn[id],
    setLook(id, look) {
      paint(id, look);
      slabLooks();
      schedule();
    },
    setLooks(looks) {
      const changed = {};
      H.nodes.forEach((n) => {
        if (n.kind === "group") switchedOn[n.id] = changed[n.id] = true;
      });
      Object.entries(looks).forEach(([id, look]) => {
        paint(id, look);
        const on = look && look.visible !== undefined && look.visible !== null
          ? !!look.visible : filed(id);
        switchedOn[id] = changed[id] = on;
      });
      refreshVisibility(); // (the caps follow there)
      emit("visibility", changed);
    },
    getLook(id) { // what a drawable shows now: {visible, opacity, color}, or null
      const a = actors[id];
      if (!a || !nodeSpecs[id]) return null;
      const p = a.getProperty();
      return { visible: !!a.getVisibility(), opacity: p.getOpacity(),
        color: Array.from(p.getColor()) };
    },
    shown: (id) => effective(id),
    nodes: () => H.nodes,
    subtree,
    setLabels(on) {
      labelsOn = !!on;
      placeLabels();
      emit("labels", labelsOn);
    },
    getLabels: () => labelsOn,
    setSlab,
    getSlab: () => slab,
    on(name, cb) {
      (listeners[name] = listeners[name] || []).push(cb);
      return () => {
        listeners[name] = (listeners[name] || []).filter((f) => f !== cb);
      };
    },
    render,
    resize,
    canvas: () => glWindow.getCanvas(),
    toScreen(point) {
      const rect = container.getBoundingClientRect();
      const q = project(camNow(), rect.width / Math.max(1, rect.height), point);
      return q ? [q[0] * rect.width, q[1] * rect.height] : null;
    },
    destroy() {
      api.pause();
      destroyed = true;
      flight++;
      Object.keys(listeners).forEach((k) => delete listeners[k]);
      if (interactor) {
        interactor.unbindEvents();
        interactor.delete();
      }
      window.removeEventListener("resize", onResize);
      renderWindow.delete();
      glWindow.delete();
      container.innerHTML = "";
    },
  };

  const onResize = () => resize();
  if (!options.size) window.addEventListener("resize", onResize);
  const startCamera = (options.camera && findPreset(options.camera)) || H.camera;
  presetName = startCamera.name;
  presetHidden = new Set(startCamera.hide || []);
  setCameraNow(startCamera);
  refreshVisibility();
  resize();
  if (timeline) showTime(options.time ?? timeline.duration);
  else schedule();
  return api;
}
