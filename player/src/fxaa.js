/* Fast approximate antialiasing (FXAA) for the player's 3D view: a pass after the scene is drawn.
 *
 * Why: the browser's own antialiasing (a multisampled drawing buffer, WebGL's default) keeps
 * four samples a pixel, and in software WebGL that is most of a frame: on this project's 2-core
 * machine a frame of the case took about 2.4x longer with it (llvmpipe 365 -> 145 ms without
 * it, SwiftShader 735 -> 330 ms). `pelvic-spread render` antialiases with FXAA too (VTK's), so
 * the player's picture stays the still's. The drawing buffer is single-sampled; after each
 * frame this pass copies it into a texture and draws it back through the filter below.
 *
 * The filter follows the FXAA 3.11 "quality" algorithm as NVIDIA's whitepaper describes it
 * (T. Lottes, 2009): find pixels whose neighbourhood's luminance contrast is high, decide whether
 * the edge runs across or along, walk along it both ways to its ends, and shift the pixel's
 * sample towards the other side by how near it is to the end whose luminance says it belongs
 * there; a sub-pixel term softens single-pixel detail. Contrast thresholds and the sub-pixel
 * limit are VTK's FXAA defaults.
 */

const VS = `#version 300 es
void main() {
  // one triangle over the whole view
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

const FS = `#version 300 es
precision highp float;
uniform sampler2D picture;
uniform vec2 texel; // one pixel, in texture coordinates
out vec4 fragColor;

const float RELATIVE = 0.125;  // contrast, relative to the brightest neighbour, worth filtering
const float HARD = 0.0625;     // and at least this, however dark
const float SUBPIXEL = 0.75;   // the most a lone bright or dark pixel is softened
// the walk along an edge, each way: its steps grow (FXAA 3.11's quality preset 12), so five
// samples reach 21 pixels; single steps cost software WebGL a third more for the whole frame
const float STEP[5] = float[5](1.0, 1.5, 2.0, 4.0, 12.0);

float luma(vec3 c) { return dot(c, vec3(0.299, 0.587, 0.114)); }
// between pixels (the walk along an edge, the final sample): filtered
float lumaAt(vec2 p) { return luma(texture(picture, p).rgb); }

ivec2 last; // the picture's last pixel
// whole pixels (the neighbourhood): fetched unfiltered, which software WebGL does much faster
float lumaOf(ivec2 q) { return luma(texelFetch(picture, clamp(q, ivec2(0), last), 0).rgb); }

void main() {
  last = ivec2(round(1.0 / texel)) - 1;
  ivec2 ip = ivec2(gl_FragCoord.xy);
  vec2 p = gl_FragCoord.xy * texel;
  vec4 centre = texelFetch(picture, ip, 0);
  float m = luma(centre.rgb);
  float n = lumaOf(ip + ivec2(0, 1));
  float s = lumaOf(ip - ivec2(0, 1));
  float e = lumaOf(ip + ivec2(1, 0));
  float w = lumaOf(ip - ivec2(1, 0));
  float hi = max(max(max(n, s), max(e, w)), m);
  float lo = min(min(min(n, s), min(e, w)), m);
  float contrast = hi - lo;
  if (contrast < max(HARD, RELATIVE * hi)) {
    fragColor = centre;
    return;
  }
  float ne = lumaOf(ip + ivec2(1, 1));
  float nw = lumaOf(ip + ivec2(-1, 1));
  float se = lumaOf(ip + ivec2(1, -1));
  float sw = lumaOf(ip - ivec2(1, 1));

  // sub-pixel detail: how far the pixel stands from its neighbourhood's average
  float average = (2.0 * (n + s + e + w) + ne + nw + se + sw) / 12.0;
  float sub = smoothstep(0.0, 1.0, clamp(abs(average - m) / contrast, 0.0, 1.0));
  sub = sub * sub * SUBPIXEL;

  // the edge runs along x (horizontal) or along y
  float horizontal = abs(nw + ne - 2.0 * n) + 2.0 * abs(w + e - 2.0 * m) + abs(sw + se - 2.0 * s);
  float vertical = abs(nw + sw - 2.0 * w) + 2.0 * abs(n + s - 2.0 * m) + abs(ne + se - 2.0 * e);
  bool alongX = horizontal >= vertical;
  float across = alongX ? texel.y : texel.x;
  float before = alongX ? s : w;
  float after = alongX ? n : e;
  float other = after;
  if (abs(before - m) >= abs(after - m)) {
    across = -across;
    other = before;
  }
  float edgeLuma = 0.5 * (m + other);
  float threshold = 0.25 * abs(other - m);

  // walk along the edge, halfway between the pixel and the other side, to both its ends
  vec2 along = alongX ? vec2(texel.x, 0.0) : vec2(0.0, texel.y);
  vec2 onEdge = p + (alongX ? vec2(0.0, 0.5 * across) : vec2(0.5 * across, 0.0));
  vec2 pn = onEdge - along;
  vec2 pp = onEdge + along;
  float dn = lumaAt(pn) - edgeLuma;
  float dp = lumaAt(pp) - edgeLuma;
  bool doneN = abs(dn) >= threshold;
  bool doneP = abs(dp) >= threshold;
  for (int i = 1; i < 5; i++) {
    if (doneN && doneP) break;
    if (!doneN) {
      pn -= STEP[i] * along;
      dn = lumaAt(pn) - edgeLuma;
      doneN = abs(dn) >= threshold;
    }
    if (!doneP) {
      pp += STEP[i] * along;
      dp = lumaAt(pp) - edgeLuma;
      doneP = abs(dp) >= threshold;
    }
  }
  float distN = alongX ? p.x - pn.x : p.y - pn.y;
  float distP = alongX ? pp.x - p.x : pp.y - p.y;
  bool nearN = distN < distP;
  // blend only where the nearer end's luminance says the pixel lies on the edge's step
  bool ours = ((nearN ? dn : dp) < 0.0) != (m < edgeLuma);
  float offset = ours ? 0.5 - min(distN, distP) / (distN + distP) : 0.0;
  offset = max(offset, sub);
  vec2 q = p + (alongX ? vec2(0.0, offset * across) : vec2(offset * across, 0.0));
  fragColor = vec4(texture(picture, q).rgb, centre.a);
}`;

function compile(gl, type, source) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  return shader;
}

/** The filter on a WebGL 2 context: ``draw()`` filters the default framebuffer's picture in
 * place. It leaves depth testing, blending and culling off and its own program, vertex array
 * and texture bound (on unit 0): the renderer sets what it needs at each frame's start. */
export function fxaaPass(gl) {
  let program = null;
  let texture = null;
  let vao = null;
  let texelAt = null;
  let size = [0, 0];

  function setup() {
    program = gl.createProgram();
    gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VS));
    gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FS));
    gl.linkProgram(program);
    texture = gl.createTexture();
    vao = gl.createVertexArray();
  }

  function draw() {
    const w = gl.drawingBufferWidth;
    const h = gl.drawingBufferHeight;
    if (w < 2 || h < 2 || gl.isContextLost()) return;
    if (!program) setup();
    if (!texelAt) {
      if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
        const log = gl.getProgramInfoLog(program);
        gl.deleteProgram(program);
        program = null;
        throw new Error(`the antialiasing filter did not build: ${log}`);
      }
      texelAt = gl.getUniformLocation(program, "texel");
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, texture);
    if (w !== size[0] || h !== size[1]) {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, w, h, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      size = [w, h];
    }
    gl.copyTexSubImage2D(gl.TEXTURE_2D, 0, 0, 0, 0, 0, w, h);
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.BLEND);
    gl.disable(gl.CULL_FACE);
    gl.depthMask(false);
    gl.viewport(0, 0, w, h);
    gl.useProgram(program);
    gl.uniform2f(texelAt, 1 / w, 1 / h);
    gl.bindVertexArray(vao);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    gl.bindVertexArray(null);
    gl.depthMask(true);
  }

  return {
    /** Compile now, so that the GPU's compiler works while the page goes on. */
    prepare() {
      if (!program) setup();
    },
    draw,
    release() {
      if (program && !gl.isContextLost()) {
        gl.deleteProgram(program);
        gl.deleteTexture(texture);
        gl.deleteVertexArray(vao);
      }
      program = texture = vao = texelAt = null;
      size = [0, 0];
    },
  };
}
