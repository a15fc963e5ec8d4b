/* Turning the camera with the mouse, a pen or fingers, as VTK's trackball camera style does:
 * drag to rotate about the focal point (azimuth and elevation), shift-drag or the middle
 * button to pan, ctrl-drag to spin, the right button or the wheel to dolly; two fingers
 * pinch to dolly and move together to pan. */

import { add, mul, norm as len, sub, unit } from "./camera.js";
import { cameraAxes } from "./gl.js";

const MOTION = 10; // VTK's motion factor


/** v turned by ``deg`` degrees about the unit axis ``k`` (Rodrigues). */
function turn(v, k, deg) {
  const t = (deg * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  const kv = k[0] * v[0] + k[1] * v[1] + k[2] * v[2];
  const kx = [k[1] * v[2] - k[2] * v[1], k[2] * v[0] - k[0] * v[2], k[0] * v[1] - k[1] * v[0]];
  return [0, 1, 2].map((i) => v[i] * c + kx[i] * s + k[i] * kv * (1 - c));
}

/** Camera moves, each returning the new camera ({position, focalPoint, viewUp, viewAngle}). */
export const moves = {
  rotate(cam, dx, dy, [w, h]) {
    const { right, up } = cameraAxes(cam);
    const az = dx * (-20 / w) * MOTION;
    const el = dy * (-20 / h) * MOTION;
    const f = cam.focalPoint;
    // azimuth about the view up, then elevation about the camera's left (VTK's order)
    let pos = add(f, turn(sub(cam.position, f), unit(cam.viewUp), az));
    const left = mul(turn(right, unit(cam.viewUp), az), -1);
    pos = add(f, turn(sub(pos, f), left, el));
    const viewUp = turn(up, left, el);
    return orthogonal({ ...cam, position: pos, viewUp });
  },
  pan(cam, dx, dy, [, h]) {
    const { right, up } = cameraAxes(cam);
    const d = len(sub(cam.position, cam.focalPoint));
    const perPixel = (2 * d * Math.tan((cam.viewAngle * Math.PI) / 360)) / h;
    const shift = add(mul(right, -dx * perPixel), mul(up, -dy * perPixel));
    return { ...cam, position: add(cam.position, shift), focalPoint: add(cam.focalPoint, shift) };
  },
  dolly(cam, factor) {
    if (!(factor > 0)) return cam;
    const f = cam.focalPoint;
    return { ...cam, position: add(f, mul(sub(cam.position, f), 1 / factor)) };
  },
  spin(cam, deg) {
    const { dop } = cameraAxes(cam);
    return { ...cam, viewUp: turn(cam.viewUp, dop, deg) };
  },
};

function orthogonal(cam) {
  const { up } = cameraAxes(cam);
  return { ...cam, viewUp: up };
}

/** Binds pointer and wheel events on ``el``. ``camera()`` gives the camera now, ``set(cam)``
 * shows another; ``on.start()``, ``on.move()``, ``on.end()`` frame an interaction. Returns an
 * unbinding function. */
export function bindTrackball(el, { camera, set, size, on }) {
  const pointers = new Map(); // id -> {x, y}
  let mode = null;
  let wheelTimer = 0;

  const pinch = () => {
    const [a, b] = [...pointers.values()];
    return { d: Math.hypot(a.x - b.x, a.y - b.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  };
  let last = null;

  function down(ev) {
    if (ev.pointerType === "mouse" && ev.button > 2) return;
    el.setPointerCapture?.(ev.pointerId);
    pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    if (pointers.size === 2) {
      mode = "pinch";
      last = pinch();
    } else if (pointers.size === 1) {
      if (ev.button === 1 || (ev.button === 0 && ev.shiftKey)) mode = "pan";
      else if (ev.button === 2) mode = "dolly";
      else if (ev.button === 0 && (ev.ctrlKey || ev.metaKey)) mode = "spin";
      else mode = "rotate";
      last = { x: ev.clientX, y: ev.clientY };
      on.start();
    }
    ev.preventDefault();
  }

  function move(ev) {
    if (!pointers.has(ev.pointerId)) return;
    pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    const cam = camera();
    const box = size();
    let next = cam;
    if (mode === "pinch" && pointers.size === 2) {
      const p = pinch();
      if (last.d > 0 && p.d > 0) next = moves.dolly(next, p.d / last.d);
      next = moves.pan(next, p.x - last.x, -(p.y - last.y), box);
      last = p;
    } else if (mode && pointers.size === 1) {
      // display y grows upwards, as in VTK
      const dx = ev.clientX - last.x;
      const dy = -(ev.clientY - last.y);
      last = { x: ev.clientX, y: ev.clientY };
      if (!dx && !dy) return;
      if (mode === "rotate") next = moves.rotate(cam, dx, dy, box);
      else if (mode === "pan") next = moves.pan(cam, dx, dy, box);
      else if (mode === "dolly") next = moves.dolly(cam, 1.1 ** ((MOTION * dy) / (box[1] / 2)));
      else if (mode === "spin") next = moves.spin(cam, -dx * 0.4);
    } else {
      return;
    }
    set(next);
    on.move();
  }

  function up(ev) {
    if (!pointers.delete(ev.pointerId)) return;
    if (pointers.size === 0 && mode) {
      mode = null;
      on.end();
    } else if (pointers.size === 1) {
      // one finger left of a pinch: go on rotating from where it is
      mode = "rotate";
      const [p] = [...pointers.values()];
      last = { x: p.x, y: p.y };
    }
  }

  function wheel(ev) {
    ev.preventDefault();
    const lines = ev.deltaMode === 1 ? ev.deltaY * 33 : ev.deltaMode === 2 ? ev.deltaY * 400
      : ev.deltaY;
    if (!wheelTimer) on.start();
    set(moves.dolly(camera(), 1.1 ** (-lines / 100)));
    on.move();
    clearTimeout(wheelTimer);
    wheelTimer = setTimeout(() => {
      wheelTimer = 0;
      on.end();
    }, 200);
  }

  const menu = (ev) => ev.preventDefault();
  el.style.touchAction = "none";
  el.addEventListener("pointerdown", down);
  el.addEventListener("pointermove", move);
  el.addEventListener("pointerup", up);
  el.addEventListener("pointercancel", up);
  el.addEventListener("wheel", wheel, { passive: false });
  el.addEventListener("contextmenu", menu);
  return () => {
    clearTimeout(wheelTimer);
    el.removeEventListener("pointerdown", down);
    el.removeEventListener("pointermove", move);
    el.removeEventListener("pointerup", up);
    el.removeEventListener("pointercancel", up);
    el.removeEventListener("wheel", wheel);
    el.removeEventListener("contextmenu", menu);
  };
}
