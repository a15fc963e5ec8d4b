/* Pelvic spread player: the whole animation in the browser, from a static bundle.
 *
 * The bundle (app/player/bundle.py) holds the geometry once, the arrival-time scalars, the
 * timeline, the record, the cameras and the legend. Per frame the player computes the state
 * itself (timeline.js) and changes only colour-table mappings, matrices and visibility of
 * surfaces sent to the GPU once (gl.js draws them); it never waits for a server. The page UI
 * (page.js), `serve`'s view and lecture followers drive it through this API.
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
 *   player.gpuObjects()             {buffers, vaos, textures} the view holds now
 *   player.resize()                 take the container's size now (the player follows its
 *                                   container by itself, a frame later)
 *   player.destroy()
 *   player.ready                    a promise: resolves after the first frame is drawn
 */

import { makeTimeline } from "./timeline.js";
import { fxaaPass } from "./fxaa.js";
import { fromBase64 } from "./bundle.js";
import { createRenderer } from "./gl.js";
import { bindTrackball } from "./interact.js";
import { interpolate, ease, project } from "./camera.js";

const TRANSITION_S = 0.8;

/** Row-major 4x4 (the bundle's and Python's) -> column-major (WebGL's). */
function colMajor(m) {
  return [m[0], m[4], m[8], m[12], m[1], m[5], m[9], m[13], m[2], m[6], m[10], m[14],
    m[3], m[7], m[11], m[15]];
}

// single-sampled: the view is antialiased by the FXAA pass (fxaa.js), as `render`'s stills
// are, at a fraction of the cost of the browser's multisampling
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

  // -- the 3D scene --------------------------------------------------------------------------
  const canvas = document.createElement("canvas");
  canvas.style.display = "block";
  canvasBox.appendChild(canvas);
  let size = [1, 1];
  // The canvas takes its size before the context exists: resizing it afterwards makes the
  // browser reallocate the drawing buffer (about 80 ms on a software GPU). True when the
  // drawing buffer's size changed.
  function sizeCanvas() {
    const w = options.size ? options.size[0] : container.clientWidth;
    const h = options.size ? options.size[1] : container.clientHeight;
    const dpr = options.size ? 1 : window.devicePixelRatio || 1;
    size = [Math.max(1, Math.floor(w * dpr)), Math.max(1, Math.floor(h * dpr))];
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    if (canvas.width === size[0] && canvas.height === size[1]) return false;
    canvas.width = size[0];
    canvas.height = size[1];
    return true;
  }
  sizeCanvas();
  const gl = canvas.getContext("webgl2", CONTEXT);
  if (!gl) throw new Error("this browser offers no WebGL 2, which the 3D view needs");
  const renderer = createRenderer(gl);
  const fxaa = options.fxaa !== false ? fxaaPass(gl) : null;
  // Layer 0 draws the anatomy; layer 1 (the spread: arrows, heads, masses) over it, its
  // depth cleared, lit by its own lights (as the still renderer's two layers are).
  const layers = [0, 1].map((i) => ({ actors: [], lights: renderer.lights(H.lights[i] || []) }));
  let camera = { position: [0, 0, 1], focalPoint: [0, 0, 0], viewUp: [0, 1, 0], viewAngle: 30 };

  const geoms = H.geoms.map((g) => renderer.geometry({
    points: array(g.points), min: g.min, step: g.step,
    normals: g.normals ? array(g.normals) : null, tris: array(g.tris), closed: g.closed }));
  const tables = H.luts.map((spec) => renderer.table(spec));
  // Sliding colour ranges: a vertex's colour is its arrival time through a table whose range
  // slides with the time shown (timeline.js: nerveRange, arrowRange); per frame only the
  // table's mapping changes (two numbers), never a buffer.
  function slide(state) {
    H.luts.forEach((spec, i) => {
      tables[i].setRange(spec.range === "nerve" ? state.nerveRange : state.arrowRange);
    });
  }
  /** An actor's look from the bundle's property record. */
  function dress(a, prop) {
    a.color = prop.color.slice();
    a.opacity = prop.opacity;
    a.ambient = prop.ambient;
    a.diffuse = prop.diffuse;
    a.specular = prop.specular;
    a.specularPower = prop.specularPower;
    a.flat = !!prop.flat;
    return a;
  }
  const actors = {};
  const nodeActors = [];
  // actors whose surface is closed and faces out (the bundle says which): while one is opaque
  // and nothing is cut open, its back faces are never seen, and skipping them takes about a
  // third off a frame in software WebGL (cullBacks)
  const closedActors = [];
  H.actors.forEach((a) => {
    const actor = dress(renderer.actor(geoms[a.geom], a.arrival
      ? { arrival: array(a.arrival), lut: tables[a.lut] } : {}), a.prop);
    actor.visible = !!a.visible;
    actor.clip = true;
    layers[a.layer === 1 ? 1 : 0].actors.push(actor);
    actors[a.id] = actor;
    if (a.kind === "node") nodeActors.push(a.id);
    if (H.geoms[a.geom].closed) closedActors.push(actor);
  });
  const anatomy = layers[0].actors.slice(); // (a slab adds its caps and faint context)
  // The shaders start compiling now: a software GPU takes longer over them (and over
  // preparing their states) than over a frame, and it works on them while the script goes on.
  renderer.prepare(layers);
  if (fxaa) fxaa.prepare();

  // Clipping range from everything that can be drawn (both layers share the camera).
  const bounds = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
  geoms.forEach((g) => {
    for (let k = 0; k < 3; k++) {
      bounds[2 * k] = Math.min(bounds[2 * k], g.bounds[2 * k]);
      bounds[2 * k + 1] = Math.max(bounds[2 * k + 1], g.bounds[2 * k + 1]);
    }
  });
  H.timeline?.masses.forEach((m) => {
    const r = Math.max(...m.knotRadius);
    for (let k = 0; k < 3; k++) {
      bounds[2 * k] = Math.min(bounds[2 * k], m.center[k] - r);
      bounds[2 * k + 1] = Math.max(bounds[2 * k + 1], m.center[k] + r);
    }
  });

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
      a.visible = h.visible;
      a.matrix = colMajor(h.matrix);
    }
    for (const [id, m] of Object.entries(state.masses)) {
      const a = actors[`mass:${id}`];
      if (!a) continue;
      a.visible = m.visible;
      a.matrix = colMajor(m.matrix);
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
    a.opacity = look && look.opacity !== undefined && look.opacity !== null
      ? Math.min(1, Math.max(0, Number(look.opacity))) : spec.prop.opacity;
    a.color = ((look && colour(look.color)) || spec.prop.color).slice();
  }
  function refreshVisibility() {
    nodeActors.forEach((id) => { actors[id].visible = effective(id); });
    slabLooks();
    schedule();
  }

  // -- camera -----------------------------------------------------------------------------
  let presetName = null;
  let flight = 0;
  const camNow = () => ({
    position: camera.position.slice(), focalPoint: camera.focalPoint.slice(),
    viewUp: camera.viewUp.slice(), viewAngle: camera.viewAngle, preset: presetName,
  });
  function setCameraNow(c) {
    camera = { position: c.position.map(Number), focalPoint: c.focalPoint.map(Number),
      viewUp: c.viewUp.map(Number), viewAngle: Number(c.viewAngle) };
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

  // -- slab: two clipping planes on every surface, caps, mass discs, faint context ----------
  // Geometry is built per slab move only; per frame the discs move by matrix (placeDiscs).
  let slab = null; // the message shown
  let planes = null; // the slab's two planes, [x, y, z, nx, ny, nz] each
  let caps = []; // {node, actor, geom}
  const ghosts = {}; // node id -> actor (the whole surface, unclipped, faint)
  const discs = {}; // mass id -> [lower, upper] actors (a unit disc)
  let discGeom = null;
  const specOf = {};
  H.actors.forEach((a) => {
    specOf[a.id] = a;
  });

  const bytesOf = (b64) => fromBase64(b64).buffer;

  function capActor(item, look) {
    const uv = new Int16Array(bytesOf(item.uv));
    const tris = item.index === "uint32" ? new Uint32Array(bytesOf(item.tri))
      : new Uint16Array(bytesOf(item.tri));
    const n = uv.length / 2;
    const positions = new Float32Array(3 * n);
    const [o, u, v, k] = [item.origin, item.u, item.v, 1 / item.scale];
    for (let i = 0; i < n; i++) {
      const a = uv[2 * i] * k;
      const b = uv[2 * i + 1] * k;
      for (let j = 0; j < 3; j++) positions[3 * i + j] = o[j] + a * u[j] + b * v[j];
    }
    const geom = renderer.geometry({ positions, normals: null, tris });
    const spec = specOf[item.node];
    // a cut nerve shows the spread as its surface does: the same table, the same range
    const coloured = item.arrival && spec && spec.arrival;
    const actor = renderer.actor(geom, coloured
      ? { arrival: new Float32Array(bytesOf(item.arrival)), lut: tables[spec.lut] } : {});
    actor.ambient = look.capAmbient;
    actor.diffuse = look.capDiffuse;
    actor.specular = 0;
    return { actor, geom };
  }

  function unitDisc(sides) {
    const positions = new Float32Array(3 * (sides + 1));
    const tris = new Uint16Array(3 * sides);
    for (let i = 0; i < sides; i++) {
      const t = (2 * Math.PI * i) / sides;
      positions[3 * (i + 1)] = Math.cos(t);
      positions[3 * (i + 1) + 1] = Math.sin(t);
      tris.set([0, 1 + i, 1 + ((i + 1) % sides)], 3 * i);
    }
    return renderer.geometry({ positions, normals: null, tris });
  }

  /** Caps and ghosts take their structure's visibility, colour and opacity (after a look). */
  function slabLooks() {
    if (!slab) return;
    const look = slab.look;
    caps.forEach(({ node, actor }) => {
      const src = actors[node];
      actor.visible = !!src && src.visible;
      if (!src) return;
      actor.color = src.color.map((c) => c * look.capShade);
      actor.opacity = src.opacity;
    });
    Object.entries(ghosts).forEach(([id, g]) => {
      g.visible = slab.ghosts.includes(id) && actors[id].visible;
      g.color = actors[id].color.slice();
    });
  }

  /** Discs where the slab's faces cut a mass (per frame: a matrix each, as SlabLayer.apply). */
  function placeDiscs(state) {
    if (!slab || !H.timeline) {
      Object.values(discs).forEach((pair) => pair.forEach((d) => {
        d.visible = false;
      }));
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
          disc.visible = false;
          return;
        }
        const r = Math.sqrt(ms.radius * ms.radius - d * d);
        const sign = i === 0 ? -1 : 1;
        const c = m.center.map((x, k) => x - d * normal[k] + sign * slab.look.discStep * normal[k]);
        disc.matrix = colMajor([u[0] * r, v[0] * r, w[0], c[0], u[1] * r, v[1] * r, w[1], c[1],
          u[2] * r, v[2] * r, w[2], c[2], 0, 0, 0, 1]);
        disc.visible = true;
      });
    });
  }

  function setSlab(message) {
    caps.forEach(({ actor, geom }) => {
      renderer.drop(actor);
      renderer.dropGeometry(geom);
    });
    caps = [];
    if (!message) {
      layers[0].actors = anatomy.concat(Object.values(ghosts));
      planes = null;
      slab = null;
      Object.values(ghosts).forEach((g) => {
        g.visible = false;
      });
      placeDiscs(null);
      schedule();
      return { clipped: 0, caps: 0 };
    }
    slab = message;
    slab.ghosts = slab.ghosts || [];
    const look = slab.look;
    planes = message.planes.map((p) => p.map(Number));
    message.caps.forEach((item) => {
      if (!actors[item.node]) return;
      caps.push({ node: item.node, ...capActor(item, look) }); // (caps are not clipped)
    });
    slab.ghosts.forEach((id) => {
      const spec = specOf[id];
      if (ghosts[id] || !spec) return;
      const g = renderer.actor(geoms[spec.geom]);
      g.opacity = look.ghostOpacity;
      g.diffuse = look.ghostDiffuse;
      g.ambient = look.ghostAmbient;
      ghosts[id] = g;
    });
    // the caps after the anatomy, the faint context after them (it blends over what is cut)
    layers[0].actors = anatomy.concat(caps.map((c) => c.actor), Object.values(ghosts));
    if (H.timeline) {
      H.timeline.masses.forEach((m) => {
        const mass = actors[`mass:${m.id}`];
        if (discs[m.id] || !mass) return;
        discGeom = discGeom || unitDisc(look.discSides);
        const colour = mass.color.map((c) => Math.min(1, c * look.discShade));
        discs[m.id] = [0, 1].map(() => {
          const a = renderer.actor(discGeom);
          a.color = colour;
          a.ambient = look.discAmbient;
          a.visible = false;
          layers[1].actors.push(a);
          return a;
        });
      });
    }
    slabLooks();
    placeDiscs(current);
    schedule();
    const clipped = Object.values(actors).filter((a) => a.clip).length;
    return { clipped, caps: caps.length };
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
      actor.cull = !cut && actor.isOpaque();
    });
  }
  function render() {
    pending = false;
    if (destroyed) return;
    cullBacks();
    renderer.render({ size, background: H.background, camera, bounds, layers, planes });
    if (fxaa) fxaa.draw();
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
  let unbind = null;
  if (options.interactive !== false) {
    unbind = bindTrackball(canvasBox, {
      camera: () => camera,
      size: () => [Math.max(1, canvasBox.clientWidth), Math.max(1, canvasBox.clientHeight)],
      set(c) {
        setCameraNow(c);
        schedule();
      },
      on: {
        start() {
          flight++;
          presetName = null;
        },
        move() {
          placeLabels();
          emit("camera", camNow(), { source: "user", end: false });
        },
        end: () => emit("camera", camNow(), { source: "user", end: true }),
      },
    });
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
      return { visible: !!a.visible, opacity: a.opacity, color: a.color.slice() };
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
    canvas: () => canvas,
    gpuObjects: () => renderer.census(),
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
      if (unbind) unbind();
      if (observer) observer.disconnect();
      if (fxaa) fxaa.release();
      renderer.release();
      gl.getExtension("WEBGL_lose_context")?.loseContext();
      container.innerHTML = "";
    },
  };

  // the container's size, whatever changes it (the window, a page's layout filling in after
  // the player was made, a side panel): the canvas follows, and draws again only then
  const observer = options.size ? null : new ResizeObserver(() => {
    if (sizeCanvas()) schedule();
  });
  const startCamera = (options.camera && findPreset(options.camera)) || H.camera;
  presetName = startCamera.name;
  presetHidden = new Set(startCamera.hide || []);
  setCameraNow(startCamera);
  refreshVisibility();
  resize();
  if (observer) observer.observe(container);
  if (timeline) showTime(options.time ?? timeline.duration);
  else schedule();
  return api;
}
