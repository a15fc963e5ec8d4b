/* Camera transitions and projection: the same rules as app/web/camera_logic.py (interpolate)
 * and app/web/static/viewer.js, so that a preset flight looks the same everywhere. */

// 3-vectors as arrays (gl.js and interact.js use these too)
export const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const add = (a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const mul = (a, s) => [a[0] * s, a[1] * s, a[2] * s];
export const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const norm = (a) => Math.sqrt(dot(a, a));
export const unit = (a) => mul(a, 1 / (norm(a) || 1));
export const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0]];

function slerp(a, b, s) {
  a = unit(a);
  b = unit(b);
  const d = Math.max(-1, Math.min(1, dot(a, b)));
  if (d > 0.9995) return unit(add(a, mul(sub(b, a), s)));
  if (d < -0.9995) {
    let perp = cross(a, [0, 0, 1]);
    if (norm(perp) < 1e-6) perp = cross(a, [0, 1, 0]);
    perp = unit(perp);
    return add(mul(a, Math.cos(Math.PI * s)), mul(perp, Math.sin(Math.PI * s)));
  }
  const om = Math.acos(d);
  return mul(add(mul(a, Math.sin((1 - s) * om)), mul(b, Math.sin(s * om))), 1 / Math.sin(om));
}

/** The camera a fraction s of the way from a to b: focal point straight, direction and up
 * on great circles, distance scaled smoothly. */
export function interpolate(a, b, s) {
  const fa = a.focalPoint;
  const fb = b.focalPoint;
  const da = sub(a.position, fa);
  const db = sub(b.position, fb);
  const la = norm(da);
  const lb = norm(db);
  const focal = add(fa, mul(sub(fb, fa), s));
  const dir = slerp(da, db, s);
  const dist = la > 0 && lb > 0 ? la * Math.pow(lb / la, s) : la + s * (lb - la);
  let up = slerp(a.viewUp, b.viewUp, s);
  up = sub(up, mul(dir, dot(up, dir)));
  up = norm(up) > 1e-9 ? unit(up) : b.viewUp;
  return {
    position: add(focal, mul(dir, dist)), focalPoint: focal, viewUp: up,
    viewAngle: a.viewAngle + s * (b.viewAngle - a.viewAngle),
  };
}

export const ease = (s) => s * s * (3 - 2 * s);

/** Normalised window position (0..1 from the top left) of a world point, or null behind. */
export function project(cam, aspect, p) {
  const pos = cam.position;
  const d = unit(sub(cam.focalPoint, pos));
  const r = unit(cross(d, cam.viewUp));
  const u = cross(r, d);
  const w = sub(p, pos);
  const z = dot(w, d);
  if (z <= 1e-6) return null;
  const f = 1 / Math.tan((cam.viewAngle * Math.PI) / 360);
  return [0.5 + (0.5 * f * dot(w, r)) / (z * aspect), 0.5 - (0.5 * f * dot(w, u)) / z];
}
