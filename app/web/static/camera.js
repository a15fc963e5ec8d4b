/* Camera moves between presets, in the browser: the same function as
 * app/web/camera_logic.interpolate on the server (tests/test_web_names.py runs both and
 * compares). The focal point moves straight, the view direction and up vector turn on great
 * circles, the distance scales smoothly. Loaded by the page before viewer.js, and by node.
 */
(function (root) {
  "use strict";
  const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const add = (a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
  const mul = (a, s) => [a[0] * s, a[1] * s, a[2] * s];
  const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const norm = (a) => Math.sqrt(dot(a, a));
  const unit = (a) => mul(a, 1 / (norm(a) || 1));
  const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
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

  function interpolate(a, b, s) {
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
  function ease(s) {
    s = Math.min(Math.max(s, 0), 1);
    return s * s * (3 - 2 * s);
  }

  const api = { interpolate, ease };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.PS_CAMERA = api;
})(typeof window !== "undefined" ? window : globalThis);
