/* The 3D view's renderer: WebGL 2, drawing the bundle's surfaces as VTK (and vtk.js) shade
 * them, so that the player's frame matches `pelvic-spread render`'s still.
 *
 * What it draws, per frame, in two layers (the second over the first, its depth cleared):
 * actors in their order, the opaque ones first, then the translucent ones blended in actor
 * order with depth writes off (VTK without depth peeling, as the stills are drawn). Shading
 * is VTK's: ambient + diffuse + specular (Phong) from the layer's lights, given in view
 * coordinates; a lone headlight of intensity 1 is VTK's simple path (n.z); both sides lit;
 * surfaces without normals (or flat ones) take the normal of their triangle. A surface
 * coloured by arrival time looks its colour up, nearest texel, in a table texture laid out
 * as vtk.js lays it out (below colour, the table, above colour): only the table's mapping
 * (two numbers) changes per frame, never a buffer.
 *
 * The bundle's data goes to the GPU as it comes: positions as 16-bit grid steps (the shader
 * scales them back), normals as signed bytes, triangles indexed. No copy is made in script.
 */

import { cross, dot, sub, unit } from "./camera.js";

const HEADER = `#version 300 es
precision highp float;
precision highp int;
`;

// A program is made for a layer's lights (none: VTK's lone headlight of intensity 1, diffuse
// n.z and specular n.z^power) and a surface's ``mode``, a sum of these (each a branch less
// for every pixel, where a software GPU runs both sides of a branch):
const FLAT = 2; // the triangle's own normal (flat shading, or no normals)
const TEX = 4; // coloured by arrival time through the table
const CLIP = 8; // cut by the slab's two planes

const VS = `
layout(location = 0) in vec3 position;
layout(location = 1) in vec3 normal;
layout(location = 2) in float arrival;
uniform vec3 qmin;
uniform vec3 qstep;
uniform mat4 mcvc;
uniform mat4 vcpc;
uniform mat3 normalMatrix;
uniform vec2 texMap;
uniform vec4 planes[2];
out vec4 vertexVC;
out vec3 normalVC;
out float texS;
out vec2 clipDist;
void main() {
  vec4 p = vec4(qmin + position * qstep, 1.0);
#if MODE & ${CLIP}
  clipDist = vec2(dot(planes[0], p), dot(planes[1], p));
#endif
#if MODE & ${TEX}
  texS = clamp((arrival - texMap.x) * texMap.y, -1.0e3, 1.0e3);
#endif
#if (MODE & ${FLAT}) == 0
  normalVC = normalMatrix * normal;
#endif
  vertexVC = mcvc * p;
  gl_Position = vcpc * vertexVC;
}`;

// VTK's (vtk.js's) Phong shading, term for term: ambient and diffuse colours are the
// surface's (or the table's) colour; lights are directions in view coordinates; both sides
// are lit (a back face's normal turns round); a flat normal faces the camera.
const FS = `
uniform float ambient;
uniform float diffuse;
uniform float specular;
uniform float opacity;
uniform vec3 color;
uniform vec3 specularColor;
uniform float specularPower;
#if LIGHTS > 0
uniform vec3 lightColor[LIGHTS];
uniform vec3 lightDirection[LIGHTS];
#endif
uniform sampler2D table;
in vec4 vertexVC;
in vec3 normalVC;
in float texS;
in vec2 clipDist;
layout(location = 0) out vec4 fragColor;
void main() {
#if MODE & ${CLIP}
  if (min(clipDist.x, clipDist.y) < 0.0) discard;
#endif
#if MODE & ${TEX}
  vec4 base = texture(table, vec2(texS, 0.5));
#else
  vec4 base = vec4(color, 1.0);
#endif
  float alpha = opacity * base.a;
#if MODE & ${FLAT}
  vec3 fdx = normalize(dFdx(vertexVC.xyz));
  vec3 fdy = normalize(dFdy(vertexVC.xyz));
  vec3 n = normalize(cross(fdx, fdy));
  if (dot(n, vertexVC.xyz) > 0.0) n = -n;
#else
  vec3 n = normalize(normalVC);
  if (gl_FrontFacing == false) n = -n;
#endif
  vec3 diffuseL = vec3(0.0);
  vec3 specularL = vec3(0.0);
#if LIGHTS == 0
  float df = max(0.0, n.z);
  diffuseL = vec3(df);
  specularL = vec3(pow(df, specularPower));
#else
  vec3 toEye = normalize(-vertexVC.xyz);
//LIGHTS
#endif
  fragColor = vec4(base.rgb * ambient + diffuseL * base.rgb * diffuse
                   + specularL * specularColor * specular, alpha);
  if (fragColor.a <= 0.0) discard;
}`;

/** Each light's terms written out (a loop over uniform arrays is much slower in software). */
function lightTerms(count) {
  let out = "";
  for (let i = 0; i < count; i++) {
    out += `    {
      vec3 l = lightDirection[${i}];
      float df = max(0.0, dot(n, -l));
      diffuseL += df * lightColor[${i}];
      if (dot(n, l) < 0.0) {
        float sf = sign(df) * pow(max(1e-5, dot(reflect(l, n), toEye)), specularPower);
        specularL += sf * lightColor[${i}];
      }
    }
`;
  }
  return out;
}

/** A surface's mode: ``flat`` (or no normals), ``arrival`` (coloured by it), ``clip``. */
const modeOf = (a, clip) => (a.flat || !a.geom.normal ? FLAT : 0) | (a.lut ? TEX : 0)
  | (clip && a.clip ? CLIP : 0);

/** Light slots a program has: the still renderer's light kit has five (unused slots are
 * black). */
const LIGHT_SLOTS = 5;
const UNIFORMS = ["qmin", "qstep", "mcvc", "vcpc", "normalMatrix", "texMap", "planes", "ambient",
  "diffuse", "specular", "opacity", "color", "specularColor", "specularPower", "lightColor",
  "lightDirection", "table"];

// -- small matrix helpers (column-major 4x4, as WebGL takes them) -----------------------------

/** out = a * b (column-major 4x4). */
function mul4(a, b, out = new Float64Array(16)) {
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      out[c * 4 + r] = a[r] * b[c * 4] + a[4 + r] * b[c * 4 + 1] + a[8 + r] * b[c * 4 + 2]
        + a[12 + r] * b[c * 4 + 3];
    }
  }
  return out;
}

/** The camera's axes: right, up (orthogonalised), direction of projection. */
export function cameraAxes(cam) {
  const dop = unit(sub(cam.focalPoint, cam.position));
  const right = unit(cross(dop, cam.viewUp));
  const up = cross(right, dop);
  return { right, up, dop };
}

/** World -> view (VTK's view transform: camera at the origin looking down -z). */
export function viewMatrix(cam) {
  const { right, up, dop } = cameraAxes(cam);
  const p = cam.position;
  return new Float64Array([right[0], up[0], -dop[0], 0, right[1], up[1], -dop[1], 0,
    right[2], up[2], -dop[2], 0, -dot(right, p), -dot(up, p), dot(dop, p), 1]);
}

/** VTK's resetCameraClippingRange for these bounds: [near, far] along the view direction,
 * with VTK's breathing room and its near-plane tolerance for a 24-bit depth buffer. */
export function clippingRange(cam, bounds) {
  const vn = unit(sub(cam.position, cam.focalPoint)); // the view plane normal
  const a = [-vn[0], -vn[1], -vn[2]];
  const d = -dot(a, cam.position);
  let near = dot(a, [bounds[0], bounds[2], bounds[4]]) + d;
  let far = 1e-18;
  for (let k = 0; k < 8; k++) {
    const dist = dot(a, [bounds[k & 1], bounds[2 + ((k >> 1) & 1)], bounds[4 + (k >> 2)]]) + d;
    near = Math.min(near, dist);
    far = Math.max(far, dist);
  }
  if (near < 0) near = 0;
  const expansion = 0.05;
  const span = far - near;
  near = 0.99 * near - span * expansion;
  far = 1.01 * far + span * expansion;
  if (near >= far) near = 0.01 * far;
  if (near < 0.001 * far) near = 0.001 * far;
  return [near, far];
}

/** View -> clip for a vertical view angle (degrees), aspect and range (VTK's frustum). */
export function projectionMatrix(viewAngle, aspect, [near, far]) {
  const f = 1 / Math.tan((viewAngle * Math.PI) / 360);
  const m = new Float64Array(16);
  m[0] = f / aspect;
  m[5] = f;
  m[10] = -(far + near) / (far - near);
  m[11] = -1;
  m[14] = (-2 * far * near) / (far - near);
  return m;
}

/** The inverse transpose of a 4x4's upper 3x3 (normals' matrix), column-major 3x3. */
function normalMatrix(m) {
  const [a, b, c, d, e, f, g, h, i] = [m[0], m[4], m[8], m[1], m[5], m[9], m[2], m[6], m[10]];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C || 1;
  // the inverse's transpose is the cofactor matrix over det; column-major
  return new Float32Array([A / det, -(b * i - c * h) / det, (b * f - c * e) / det,
    B / det, (a * i - c * g) / det, -(a * f - c * d) / det,
    C / det, -(a * h - b * g) / det, (a * e - b * d) / det]);
}

/** The renderer on a WebGL 2 context. */
export function createRenderer(gl) {
  const programs = new Map();
  const made = { buffers: new Set(), vaos: new Set(), textures: new Set() };
  let lost = false;
  let culling = false; // back faces culled now (render() starts each frame with none)

  function shader(type, source) {
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    return s;
  }

  /** The program for ``slots`` lights (0: the lone headlight) and a mode; compiled once (its
   * link is checked when first drawn with). */
  function program(slots, mode) {
    const key = `${slots}:${mode}`;
    let p = programs.get(key);
    if (p) return p;
    const defs = `#define LIGHTS ${slots}\n#define MODE ${mode}\n`;
    const vs = shader(gl.VERTEX_SHADER, HEADER + defs + VS);
    const fs = shader(gl.FRAGMENT_SHADER, HEADER + defs + FS.replace("//LIGHTS",
      lightTerms(slots)));
    const handle = gl.createProgram();
    gl.attachShader(handle, vs);
    gl.attachShader(handle, fs);
    gl.linkProgram(handle);
    p = { handle, vs, fs, at: null };
    programs.set(key, p);
    return p;
  }

  /** Links are checked when a program is first drawn with: asking earlier would make the
   * page wait for the compiler. */
  function use(p) {
    if (!p.at) {
      if (!gl.getProgramParameter(p.handle, gl.LINK_STATUS)) {
        const log = gl.getProgramInfoLog(p.handle) || gl.getShaderInfoLog(p.fs)
          || gl.getShaderInfoLog(p.vs);
        throw new Error(`the 3D view's shaders did not build: ${log}`);
      }
      p.at = {};
      UNIFORMS.forEach((name) => {
        p.at[name] = gl.getUniformLocation(p.handle, name);
      });
    }
    gl.useProgram(p.handle);
    return p.at;
  }

  function buffer(target, data) {
    const b = gl.createBuffer();
    gl.bindBuffer(target, b);
    gl.bufferData(target, data, gl.STATIC_DRAW);
    made.buffers.add(b);
    return b;
  }

  // Every vertex array has all three attributes (zeros where a surface has no normals or no
  // arrival times): one vertex layout, so the GPU's compiled vertex stage serves them all.
  let zeros = null;
  function zeroBuffer(bytes) {
    if (!zeros || zeros.bytes < bytes) {
      zeros = { bytes, buffer: buffer(gl.ARRAY_BUFFER, new Uint8Array(Math.max(bytes, 4096))) };
    }
    return zeros.buffer;
  }

  /** A surface: {points (Uint16Array grid steps, with min and step) or positions
   * (Float32Array), normals (Int8Array, /127) or null, tris (Uint16Array | Uint32Array)}. */
  function geometry(g) {
    const quantised = !!g.points;
    const data = quantised ? g.points : g.positions;
    const n = data.length / 3;
    const qmin = quantised ? g.min : [0, 0, 0];
    const qstep = quantised ? g.step : [1, 1, 1];
    const bounds = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
    if (quantised) {
      for (let k = 0; k < 3; k++) {
        let lo = 65535;
        let hi = 0;
        for (let i = k; i < data.length; i += 3) {
          const v = data[i];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (n) {
          bounds[2 * k] = qmin[k] + lo * qstep[k];
          bounds[2 * k + 1] = qmin[k] + hi * qstep[k];
        }
      }
    } else {
      for (let i = 0; i < data.length; i++) {
        const k = i % 3;
        bounds[2 * k] = Math.min(bounds[2 * k], data[i]);
        bounds[2 * k + 1] = Math.max(bounds[2 * k + 1], data[i]);
      }
    }
    return {
      position: buffer(gl.ARRAY_BUFFER, data),
      positionType: quantised ? gl.UNSIGNED_SHORT : gl.FLOAT,
      normal: g.normals ? buffer(gl.ARRAY_BUFFER, g.normals) : null,
      index: buffer(gl.ELEMENT_ARRAY_BUFFER, g.tris),
      indexType: g.tris instanceof Uint32Array ? gl.UNSIGNED_INT : gl.UNSIGNED_SHORT,
      count: g.tris.length,
      qmin: new Float32Array(qmin),
      qstep: new Float32Array(qstep),
      bounds,
      closed: !!g.closed,
      vertices: n,
    };
  }

  /** A colour table as vtk.js lays its texture out: the below colour, the table's colours,
   * the above colour (each the table's end where it has none); nearest texel. ``spec``: the
   * bundle's lut ({table: RGBA 0..255, below, above, nan}). */
  function table(spec) {
    const n = spec.table.length / 4;
    const px = new Uint8Array(4 * (n + 2));
    const byte = (c) => Math.floor(c * 255 + 0.5);
    px.set(spec.table, 4);
    px.set(spec.below ? spec.below.map(byte) : spec.table.slice(0, 4), 0);
    px.set(spec.above ? spec.above.map(byte) : spec.table.slice(4 * n - 4), 4 * (n + 1));
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, n + 2, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, px);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    made.textures.add(texture);
    let opaque = true;
    for (let i = 3; i < px.length; i += 4) if (px[i] < 255) opaque = false;
    const t = {
      texture, n, opaque, map: new Float32Array([0, 1]),
      /** Values r[0]..r[1] onto the table (vtk.js's ScalarColoringHelper: the range's ends
       * on the centres of texels 1 and n). */
      setRange(r) {
        const w = (r[1] - r[0]) / (n - 1);
        t.map[0] = r[0] - 1.5 * w;
        t.map[1] = 1 / (r[1] - r[0] + 3 * w);
      },
    };
    t.setRange([0, 1]);
    return t;
  }

  /** A drawable: a geometry, its own arrival times (Float32Array) and table, or a colour. */
  function actor(geom, { arrival = null, lut = null } = {}) {
    const vao = gl.createVertexArray();
    made.vaos.add(vao);
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, geom.position);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 3, geom.positionType, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, geom.normal || zeroBuffer(3 * geom.vertices));
    gl.enableVertexAttribArray(1);
    gl.vertexAttribPointer(1, 3, gl.BYTE, true, 0, 0);
    const arrivalBuffer = arrival && lut ? buffer(gl.ARRAY_BUFFER, arrival) : null;
    gl.bindBuffer(gl.ARRAY_BUFFER, arrivalBuffer || zeroBuffer(4 * geom.vertices));
    gl.enableVertexAttribArray(2);
    gl.vertexAttribPointer(2, 1, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, geom.index);
    gl.bindVertexArray(null);
    return {
      geom, vao, arrivalBuffer, lut: arrivalBuffer ? lut : null,
      visible: true, matrix: null, color: [1, 1, 1], opacity: 1, ambient: 0, diffuse: 1,
      specular: 0, specularPower: 1, specularColor: [1, 1, 1], flat: false, cull: false,
      clip: false,
      isOpaque() {
        return this.opacity >= 1 && (!this.lut || this.lut.opaque);
      },
    };
  }

  function free(set, item, del) {
    if (item && set.delete(item) && !lost && !gl.isContextLost()) del.call(gl, item);
  }

  /** Forget an actor's own GPU objects (its geometry stays). */
  function drop(a) {
    free(made.vaos, a.vao, gl.deleteVertexArray);
    free(made.buffers, a.arrivalBuffer, gl.deleteBuffer);
  }

  /** Forget a geometry's buffers (no actor may draw it afterwards). */
  function dropGeometry(g) {
    [g.position, g.normal, g.index].forEach((b) => free(made.buffers, b, gl.deleteBuffer));
  }

  /** Lights (the bundle's specs) -> {count: 0 for VTK's lone headlight, colour, direction}. */
  function lights(specs) {
    if (specs.length === 1 && specs[0].type === "HeadLight" && specs[0].intensity === 1) {
      return { count: 0, slots: 0, color: null, direction: null, scene: [] };
    }
    const slots = Math.max(LIGHT_SLOTS, specs.length);
    const color = new Float32Array(3 * slots); // (unused slots black)
    const direction = new Float32Array(3 * slots);
    const scene = [];
    specs.forEach((s, i) => {
      color.set(s.color.map((c) => c * s.intensity), 3 * i);
      // camera lights (a headlight among several is one, at (0, 0, 1)) shine along
      // focal - position in view coordinates; scene lights are turned with the view
      const dir = unit(sub(s.focal, s.position));
      direction.set(dir, 3 * i);
      if (s.type === "SceneLight") scene.push([i, dir]);
    });
    return { count: specs.length, slots, color, direction, scene };
  }

  const scratch = { mcvc: new Float64Array(16), f32: new Float32Array(16),
    vcpc: new Float32Array(16), planes: new Float32Array(8) };

  /** One frame: ``frame`` = {size: [w, h], background, camera, bounds, layers: [{actors,
   * lights (from lights())}], planes: null | [[x, y, z, nx, ny, nz] x 2] (world)}. */
  function render(frame) {
    if (gl.isContextLost()) return;
    const [w, h] = frame.size;
    const view = viewMatrix(frame.camera);
    const range = clippingRange(frame.camera, frame.bounds);
    scratch.vcpc.set(projectionMatrix(frame.camera.viewAngle, w / Math.max(1, h), range));
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, w, h);
    gl.depthMask(true);
    gl.clearColor(frame.background[0], frame.background[1], frame.background[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST);
    gl.depthFunc(gl.LEQUAL);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.activeTexture(gl.TEXTURE0);
    gl.disable(gl.CULL_FACE);
    culling = false;
    const planes = frame.planes;
    frame.layers.forEach((layer, li) => {
      if (li > 0) {
        gl.depthMask(true);
        gl.clear(gl.DEPTH_BUFFER_BIT);
      }
      const L = layer.lights;
      L.scene.forEach(([i, d]) => { // scene lights turn with the view
        const v = [0, 1, 2].map((r) => view[r] * d[0] + view[4 + r] * d[1] + view[8 + r] * d[2]);
        L.direction.set(unit(v), 3 * i);
      });
      const shown = layer.actors.filter((a) => a.visible);
      const opaque = shown.filter((a) => a.isOpaque());
      const translucent = shown.filter((a) => !a.isOpaque());
      [opaque, translucent].forEach((list, pass) => {
        gl.depthMask(pass === 0);
        list.forEach((a) => draw(a, L, view, planes));
      });
    });
    gl.depthMask(true);
    gl.bindVertexArray(null);
  }

  function draw(a, L, view, planes) {
    const g = a.geom;
    const clip = !!(planes && a.clip);
    const at = use(program(L.slots, modeOf(a, clip)));
    const mcvc = a.matrix ? mul4(view, a.matrix, scratch.mcvc) : view;
    scratch.f32.set(mcvc);
    gl.uniformMatrix4fv(at.mcvc, false, scratch.f32);
    gl.uniformMatrix4fv(at.vcpc, false, scratch.vcpc);
    if (g.normal) gl.uniformMatrix3fv(at.normalMatrix, false, normalMatrix(mcvc));
    gl.uniform3fv(at.qmin, g.qmin);
    gl.uniform3fv(at.qstep, g.qstep);
    if (clip) {
      // each plane (a point and the normal keeping the inside) as an equation in the
      // actor's own coordinates: (M^T [n, -n.o]) . [x, 1]
      planes.forEach((pl, i) => {
        const nrm = [pl[3], pl[4], pl[5]];
        const eq = [nrm[0], nrm[1], nrm[2], -dot(nrm, pl)];
        for (let c = 0; c < 4; c++) {
          scratch.planes[4 * i + c] = a.matrix
            ? eq[0] * a.matrix[4 * c] + eq[1] * a.matrix[4 * c + 1] + eq[2] * a.matrix[4 * c + 2]
              + eq[3] * a.matrix[4 * c + 3]
            : eq[c];
        }
      });
      gl.uniform4fv(at.planes, scratch.planes);
    }
    if (a.lut) {
      gl.bindTexture(gl.TEXTURE_2D, a.lut.texture);
      gl.uniform1i(at.table, 0);
      gl.uniform2fv(at.texMap, a.lut.map);
    }
    gl.uniform1f(at.ambient, a.ambient);
    gl.uniform1f(at.diffuse, a.diffuse);
    gl.uniform1f(at.specular, a.specular);
    gl.uniform1f(at.opacity, a.opacity);
    gl.uniform3fv(at.color, a.color);
    gl.uniform3fv(at.specularColor, a.specularColor);
    gl.uniform1f(at.specularPower, a.specularPower);
    if (L.count) {
      gl.uniform3fv(at.lightColor, L.color);
      gl.uniform3fv(at.lightDirection, L.direction);
    }
    if (a.cull !== culling) {
      if (a.cull) gl.enable(gl.CULL_FACE);
      else gl.disable(gl.CULL_FACE);
      culling = a.cull;
    }
    gl.bindVertexArray(a.vao);
    gl.drawElements(gl.TRIANGLES, g.count, g.indexType, 0);
  }

  /** Start compiling the programs these layers' actors draw with (uncut): the GPU's compiler
   * works on them while the page goes on (nothing waits for it until the first draw). */
  function prepare(layers) {
    layers.forEach((layer) => layer.actors.forEach((a) => program(layer.lights.slots,
      modeOf(a, false))));
    gl.flush();
  }

  function release() {
    lost = true;
    if (gl.isContextLost()) return;
    programs.forEach((p) => {
      gl.deleteProgram(p.handle);
      gl.deleteShader(p.vs);
      gl.deleteShader(p.fs);
    });
    made.buffers.forEach((b) => gl.deleteBuffer(b));
    made.vaos.forEach((v) => gl.deleteVertexArray(v));
    made.textures.forEach((t) => gl.deleteTexture(t));
  }

  return { geometry, table, actor, drop, dropGeometry, lights, render, prepare, release,
    /** GPU objects held now: {buffers, vaos, textures} (for leak checks). */
    census: () => ({ buffers: made.buffers.size, vaos: made.vaos.size,
      textures: made.textures.size }) };
}
