/* Pelvic spread viewer: what the browser does by itself.
 *
 * - Local rendering: the vtk.js scene arrives once (trame-vtk). Per frame the server sends
 *   only a few numbers (state keys sp_r, sp_h<i>, sp_m<i>); they are applied here to the
 *   browser's own lookup tables (mapping ranges) and actors (matrices, visibility), which are
 *   found by the ids the server gives in sp_ids. The server applies the very same numbers to
 *   its VTK objects, so remote images show the same spread.
 * - Smooth camera moves to presets (view_goto), labels on key structures, keyboard (space,
 *   arrows/page keys, 1-9), presentation mode, screenshots, share links and view files.
 */
(function () {
  "use strict";
  const P = { marks: {} };
  window.pelvic = P;
  const mark = (name) => {
    if (!(name in P.marks)) P.marks[name] = Math.round(performance.now());
  };

  // Every state key and trigger name comes from app/web/keys.py (served as names.js).
  // names.js and camera.js load beside this file in no set order (trame adds each script
  // tag on its own), so their exports are taken once both are there (start() waits).
  let N = window.PS_NAMES;
  const T = () => window.trame;
  const get = (key) => (T() && T().state ? T().state.get(key) : undefined);
  const set = (key, value) => T().state.set(key, value);
  const trigger = (name, args) => T().trigger(name, args || []);
  const local = () => get(N.View.MODE) !== "remote";

  // -- the browser's vtk.js view -------------------------------------------------------------
  /** The vtk.js side of trame-vtk's local view (renderer, synchronizer context). */
  P.localView = function () {
    const lv = T() && T().refs && T().refs[N.Refs.LOCAL];
    const inst = lv && lv.$;
    return (inst && inst.provides && inst.provides.view) || null;
  };

  /** Row-major 3x4 (as the server sends) -> column-major 4x4 (as vtk.js wants). */
  function colMajor(m) {
    return [m[0], m[4], m[8], 0, m[1], m[5], m[9], 0, m[2], m[6], m[10], 0,
      m[3], m[7], m[11], 1];
  }

  function setActor(actor, u) {
    if (!actor || !u) return;
    actor.setVisibility(!!u[0]);
    actor.setUserMatrix(colMajor(u.slice(1)));
  }

  /** Apply the current moment of the spread to the vtk.js scene. */
  P.applySpread = function () {
    const v = P.localView();
    const ids = get(N.Spread.IDS);
    if (!v || !ids || !v.ctx) return false;
    const ctx = v.ctx;
    const r = get(N.Spread.RANGES);
    if (r) {
      ids.nerve_luts.forEach((id) => {
        const lut = ctx.getInstance(id);
        if (lut) lut.setMappingRange(r[0], r[1]);
      });
      ids.arrow_luts.forEach((id) => {
        const lut = ctx.getInstance(id);
        if (lut) lut.setMappingRange(r[2], r[3]);
      });
    }
    ids.heads.forEach((id, i) => setActor(ctx.getInstance(id), get(N.Spread.HEAD + i)));
    ids.masses.forEach((id, i) => setActor(ctx.getInstance(id), get(N.Spread.MASS + i)));
    if (v.renderer) v.render();
    P.frames = (P.frames || 0) + 1;
    return true;
  };

  let unwatchSpread = null;
  function watchSpread(ids) {
    if (unwatchSpread) unwatchSpread();
    unwatchSpread = null;
    if (!ids) return;
    const keys = [N.Spread.RANGES];
    ids.heads.forEach((_, i) => keys.push(N.Spread.HEAD + i));
    ids.masses.forEach((_, i) => keys.push(N.Spread.MASS + i));
    unwatchSpread = T().state.watch(keys, () => {
      if (local()) P.applySpread();
    });
  }

  // -- scene arrival -------------------------------------------------------------------------
  /** A VTK headlight sits where the server's camera was at its last render; the browser moves
   * its own camera, so make each headlight a light fixed to the camera (the same thing). */
  function headlightsFollowCamera(v) {
    v.renderWindow.getRenderers().forEach((ren) => {
      ren.getLights().forEach((light) => {
        if (light.getLightType() === "HeadLight") {
          light.setLightTypeToCameraLight();
          light.setPosition(0, 0, 1);
          light.setFocalPoint(0, 0, 0);
        }
      });
    });
  }

  /** Every visible actor has its arrays (vtk.js fetches them after the scene description). */
  function geometryIn(v) {
    const actors = v.renderer ? v.renderer.getActors() : [];
    if (!actors.length) return false;
    return actors.every((a) => {
      if (!a.getVisibility()) return true;
      const data = a.getMapper() && a.getMapper().getInputData();
      return !!(data && data.getPoints() && data.getPoints().getNumberOfPoints() > 0);
    });
  }

  let announced = false;
  function afterSync(v) {
    headlightsFollowCamera(v);
    P.applySpread();
    if (!announced && v.renderer && v.renderer.getActors().length) {
      announced = true;
      // the server's camera, not vtk.js's reset one (which starts zoomed in)
      P.syncCamera();
      const waitForGeometry = () => {
        if (!geometryIn(v)) {
          requestAnimationFrame(waitForGeometry);
          return;
        }
        mark("geometryIn");
        v.render();
        // the first frame with the whole scene: after the render just asked for
        requestAnimationFrame(() => {
          P.firstFrameAt = Date.now();
          mark("firstFrame");
          document.body.classList.add("ps-ready");
          setTimeout(() => {
            P.sceneReady = true;
          }, 200);
        });
      };
      waitForGeometry();
    }
  }

  function hook() {
    const v = P.localView();
    if (!v || v.__pelvic) return;
    v.__pelvic = true;
    const original = v.updateViewState.bind(v);
    v.updateViewState = async function (state) {
      mark("sceneStateIn");
      const result = await original(state);
      mark("sceneSynced");
      afterSync(v);
      return result;
    };
    if (v.renderer) afterSync(v);
  }

  // -- camera ----------------------------------------------------------------------------------
  const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const add = (a, b) => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
  const mul = (a, s) => [a[0] * s, a[1] * s, a[2] * s];
  const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const norm = (a) => Math.sqrt(dot(a, a));
  const unit = (a) => mul(a, 1 / (norm(a) || 1));
  const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
    a[0] * b[1] - a[1] * b[0]];

  // Camera moves: static/camera.js, the same function as camera_logic.interpolate (tested).
  P.interpolate = (a, b, s) => window.PS_CAMERA.interpolate(a, b, s);
  const ease = (s) => window.PS_CAMERA.ease(s);

  let lastGoto = 0;
  let flight = 0;
  function onGoto(goto, jump) {
    if (!goto || goto.seq === lastGoto) return;
    const v = P.localView();
    if (!local() || !v || !v.renderer) return;
    lastGoto = goto.seq;
    const cam = v.renderer.getActiveCamera();
    const a = {
      position: cam.getPosition(), focalPoint: cam.getFocalPoint(),
      viewUp: cam.getViewUp(), viewAngle: cam.getViewAngle(),
    };
    const b = goto.camera;
    const ms = jump ? 0 : 1000 * (goto.duration || 0);
    const mine = ++flight;
    const t0 = performance.now();
    function step(now) {
      if (mine !== flight) return;
      const s = ms > 0 ? Math.min(1, (now - t0) / ms) : 1;
      cam.set(P.interpolate(a, b, ease(s)));
      v.renderer.resetCameraClippingRange();
      v.render();
      if (s < 1) requestAnimationFrame(step);
      else if (v.style) v.style.setCenterOfRotation(b.focalPoint);
    }
    requestAnimationFrame(step);
  }

  /** The user turned the browser's camera: the server's follows (remote mode, screenshots,
   * shared links) and no preset is current. */
  P.cameraMoved = function () {
    const v = P.localView();
    if (!v || !v.renderer) return;
    const cam = v.renderer.getActiveCamera();
    trigger(N.Trigger.CAM_MOVED, [{
      position: cam.getPosition(), focalPoint: cam.getFocalPoint(),
      viewUp: cam.getViewUp(), viewAngle: cam.getViewAngle(),
    }]);
  };

  /** Take the server's camera (vtk.js resets its own to a close-up when a scene arrives). */
  P.syncCamera = async function () {
    const camera = await trigger(N.Trigger.CAM_CURRENT);
    const v = P.localView();
    if (!camera || !v || !v.renderer) return;
    flight++;
    v.renderer.getActiveCamera().set(camera);
    if (v.style) v.style.setCenterOfRotation(camera.focalPoint);
    v.renderer.resetCameraClippingRange();
    v.render();
  };

  // -- labels ------------------------------------------------------------------------------
  /** Normalised window position (0..1, top left) of a world point, or null behind. */
  function project(cam, aspect, p) {
    const pos = cam.getPosition();
    const d = unit(sub(cam.getFocalPoint(), pos));
    const r = unit(cross(d, cam.getViewUp()));
    const u = cross(r, d);
    const w = sub(p, pos);
    const z = dot(w, d);
    if (z <= 1e-6) return null;
    const f = 1 / Math.tan((cam.getViewAngle() * Math.PI) / 360);
    return [0.5 + (0.5 * f * dot(w, r)) / (z * aspect), 0.5 - (0.5 * f * dot(w, u)) / z];
  }

  function placeLabels() {
    requestAnimationFrame(placeLabels);
    if (!get(N.View.LABELS)) return;
    const v = P.localView();
    const box = document.getElementById("view3d");
    if (!v || !v.renderer || !box) return;
    const cam = v.renderer.getActiveCamera();
    const rect = box.getBoundingClientRect();
    const aspect = rect.width / Math.max(1, rect.height);
    const placed = [];
    (get(N.View.LABEL_ANCHORS) || []).forEach((a) => {
      const el = document.getElementById("label-" + a.id);
      if (!el) return;
      const q = a.on === false ? null : project(cam, aspect, a.pos);
      if (!q || q[0] < 0 || q[0] > 1 || q[1] < 0 || q[1] > 1) {
        el.style.display = "none";
        return;
      }
      el.style.display = "";
      // nudge down past labels already placed, so none hides another
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
      el.style.left = x.toFixed(1) + "px";
      el.style.top = y.toFixed(1) + "px";
    });
  }

  // -- keyboard (a clicker sends page keys) ---------------------------------------------------
  function typing(el) {
    if (!el) return false;
    const tag = el.tagName;
    if (el.isContentEditable || tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && !["range", "checkbox", "radio", "button"].includes(el.type);
  }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    let used = true;
    if (e.key === " " || e.code === "Space") trigger(N.Trigger.TL_TOGGLE);
    else if (e.key === "ArrowRight" || e.key === "PageDown") trigger(N.Trigger.TL_NEXT);
    else if (e.key === "ArrowLeft" || e.key === "PageUp") trigger(N.Trigger.TL_PREV);
    else if (/^[1-9]$/.test(e.key)) trigger(N.Trigger.CAM_PRESET_INDEX, [Number(e.key) - 1]);
    else if (e.key === "Escape" && get(N.App.PRESENTING)) P.present(false);
    else if (e.key === "p" || e.key === "F5") P.present(!get(N.App.PRESENTING));
    else if (e.key === "l") set(N.View.LABELS, !get(N.View.LABELS));
    else used = false;
    if (used) {
      e.preventDefault();
      e.stopPropagation();
    }
  }

  P.present = function (on) {
    set(N.App.PRESENTING, !!on);
    try {
      if (on && !document.fullscreenElement && document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(() => {});
      } else if (!on && document.fullscreenElement) {
        document.exitFullscreen().catch(() => {});
      }
    } catch (err) {
      /* fullscreen refused (not from a click): presentation mode still applies */
    }
  };

  // -- files -----------------------------------------------------------------------------------
  function saveBlob(blob, name) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 1000);
  }

  P.screenshot = async function () {
    const box = document.getElementById("view3d");
    const r = box ? box.getBoundingClientRect() : { width: 1600, height: 900 };
    const k = Math.max(1, 1280 / Math.max(1, r.width));
    const b64 = await trigger(N.Trigger.APP_SCREENSHOT, [Math.round(r.width * k), Math.round(r.height * k)]);
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const date = get(N.Timeline.DATE) || "view";
    saveBlob(new Blob([bytes], { type: "image/png" }), `pelvic-spread-${date}.png`);
  };

  P.shareLink = function () {
    return window.location.origin + window.location.pathname + "?" + (get(N.Share.QUERY) || "");
  };

  P.copyLink = async function () {
    const link = P.shareLink();
    try {
      await navigator.clipboard.writeText(link);
    } catch (err) {
      const el = document.querySelector("#share-link input");
      if (el) {
        el.select();
        document.execCommand("copy");
      }
    }
  };

  P.downloadView = async function () {
    const text = await trigger(N.Trigger.SH_JSON);
    saveBlob(new Blob([text], { type: "application/json" }), "pelvic-spread-view.json");
  };

  P.openView = function () {
    const input = document.createElement("input");
    input.type = "file";
    input.accept = ".json,application/json";
    input.onchange = async () => {
      const file = input.files && input.files[0];
      if (file) trigger(N.Trigger.SH_APPLY_JSON, [await file.text()]);
    };
    input.click();
  };

  // -- start -----------------------------------------------------------------------------------
  function start() {
    if (!window.PS_NAMES || !window.PS_CAMERA) {
      setTimeout(start, 50);
      return;
    }
    N = window.PS_NAMES;
    if (T()) mark("trame");
    if (T() && T().state && T().state.ready) mark("state");
    if (!T() || !T().state || !T().state.ready || !T().refs || !T().refs[N.Refs.LOCAL]) {
      setTimeout(start, 50);
      return;
    }
    mark("connected");
    T().state.watch([N.Spread.IDS], watchSpread);
    T().state.watch([N.View.CAMERA_GOTO], onGoto);
    T().state.watch([N.View.MODE], (mode) => {
      if (mode !== "remote") {
        setTimeout(() => {
          P.applySpread();
          P.syncCamera();
        }, 50);
      }
    });
    setInterval(hook, 100);
    hook();
    requestAnimationFrame(placeLabels);
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("fullscreenchange", () => {
      if (!document.fullscreenElement && get(N.App.PRESENTING)) set(N.App.PRESENTING, false);
    });
    if (window.location.search.length > 1) trigger(N.Trigger.SH_APPLY_QUERY, [window.location.search]);
  }
  start();
})();
