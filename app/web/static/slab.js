/* The slab in the page's own 3D view (the browser player).
 *
 * The server sends each slab move as one compact message (sl_msg: the two clipping planes, the
 * caps it cut, the faces' axes, the structures drawn faint outside; app.render.slab's
 * slab_message without the panel) and this hands it to player.setSlab: the player clips every
 * surface with the planes, draws the caps and places the discs capping cut masses per frame
 * itself. The server clips and caps its own VTK actors with the very same slab, so remote
 * images show the same picture. Keys: ↑/↓ move the slab.
 *
 * The handle: a grip drawn in the 3D view where the slab's middle plane meets the line through
 * the camera's focal point. Dragging it moves the slab along its axis by as many millimetres as
 * the pointer moves along the axis on screen (when the view looks down the axis, dragging up
 * moves it up), sending the position at most every 150 ms while dragging and once on release;
 * the server validates it like the slider's.
 */
(function start() {
  "use strict";
  // the page's scripts load in parallel: wait for viewer.js (window.pelvic) and the names
  if (!window.pelvic || !window.PS_NAMES) {
    setTimeout(start, 50);
    return;
  }
  const N = window.PS_NAMES;
  const P = window.pelvic;
  const T = () => window.trame;
  const get = (key) => (T() && T().state ? T().state.get(key) : undefined);

  let shown = { player: null, message: undefined };
  /** Give the player the slab the state says (a new player, scenario, or move). */
  P.applySlab = function () {
    const p = P.player;
    if (!p || !p.setSlab) return false;
    const message = get(N.Slab.ON) ? get(N.Slab.MESSAGE) || null : null;
    if (shown.player === p && shown.message === message) return true;
    const out = p.setSlab(message);
    shown = { player: p, message };
    P.slabClipped = out.clipped;
    P.slabCaps = out.caps;
    return true;
  };

  // a new player (first load, another scenario) takes the slab shown
  window.addEventListener("ps-player", () => P.applySlab());

  function watch() {
    if (!T() || !T().state || !T().state.watch) {
      setTimeout(watch, 200);
      return;
    }
    T().state.watch([N.Slab.MESSAGE, N.Slab.ON], () => P.applySlab());
    P.applySlab();
  }
  watch();

  // -- the grip -------------------------------------------------------------------------------
  const AXIS = { axial: 2, coronal: 1, sagittal: 0 };
  const grip = document.createElement("div");
  grip.className = "ps-slab-grip";
  grip.id = "slab-grip";
  grip.title = "Drag to move the slab (or ↑/↓)";
  grip.setAttribute("role", "slider");
  grip.setAttribute("aria-label", "Slab position");
  let drag = null; // {x, y, from, pos, sent, timer}

  function anchor(pos) {
    const p = P.player;
    const axis = AXIS[get(N.Slab.ORIENT)];
    if (!p || axis === undefined) return null;
    const f = p.getCamera().focalPoint.slice();
    f[axis] = pos;
    return { p, axis, at: f };
  }

  /** Where the grip is and which way along the screen the slab's axis runs (px per mm). */
  function geometry(pos) {
    const a = anchor(pos);
    if (!a) return null;
    const s0 = a.p.toScreen(a.at);
    const ahead = a.at.slice();
    ahead[a.axis] += 10;
    const s1 = a.p.toScreen(ahead);
    if (!s0) return null;
    // the screen's scale at the grip: 10 mm along the view's up direction
    const up = a.p.getCamera().viewUp;
    const s2 = a.p.toScreen(a.at.map((x, k) => x + 10 * up[k]));
    const scale = s2 ? Math.max(0.2, Math.hypot(s2[0] - s0[0], s2[1] - s0[1]) / 10) : 1;
    let dir = s1 ? [(s1[0] - s0[0]) / 10, (s1[1] - s0[1]) / 10] : [0, 0];
    // looking (nearly) down the axis, it hardly shows on screen: dragging up is + then
    if (Math.hypot(dir[0], dir[1]) < 0.35 * scale) dir = [0, -scale];
    return { at: s0, dir, p: a.p };
  }

  function place() {
    const p = P.player;
    const on = !!get(N.Slab.ON) && p && p === P.player;
    const slot = p && p.canvas().closest(".ps-player-slot");
    if (!on || !slot) {
      grip.style.display = "none";
      return;
    }
    if (grip.parentNode !== slot) slot.appendChild(grip);
    const g = geometry(drag ? drag.pos : Number(get(N.Slab.POS)));
    const w = slot.clientWidth;
    const h = slot.clientHeight;
    if (!g || g.at[0] < 0 || g.at[0] > w || g.at[1] < 0 || g.at[1] > h) {
      grip.style.display = "none";
      return;
    }
    grip.style.display = "";
    grip.style.left = `${g.at[0].toFixed(1)}px`;
    grip.style.top = `${g.at[1].toFixed(1)}px`;
    const angle = (Math.atan2(g.dir[1], g.dir[0]) * 180) / Math.PI + 90;
    grip.style.setProperty("--ps-grip-turn", `${angle.toFixed(1)}deg`);
    grip.setAttribute("aria-valuenow", String(get(N.Slab.POS)));
  }

  function send() {
    if (!drag || drag.pos === drag.sent) return;
    drag.sent = drag.pos;
    T().state.set(N.Slab.POS, drag.pos);
  }

  grip.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    e.stopPropagation();
    const pos = Number(get(N.Slab.POS));
    const g = geometry(pos);
    if (!g) return;
    grip.setPointerCapture(e.pointerId);
    grip.classList.add("ps-slab-grip-on");
    drag = { x: e.clientX, y: e.clientY, from: pos, pos, sent: pos, dir: g.dir, timer: null };
  });
  grip.addEventListener("pointermove", (e) => {
    if (!drag) return;
    e.stopPropagation();
    const d = drag.dir;
    const mm = ((e.clientX - drag.x) * d[0] + (e.clientY - drag.y) * d[1]) / (d[0] ** 2 + d[1] ** 2);
    const lo = Number(get(N.Slab.MIN));
    const hi = Number(get(N.Slab.MAX));
    drag.pos = Math.min(hi, Math.max(lo, Math.round((drag.from + mm) * 2) / 2));
    place();
    if (!drag.timer) drag.timer = setTimeout(() => { if (drag) { drag.timer = null; send(); } }, 150);
  });
  const release = (e) => {
    if (!drag) return;
    e.stopPropagation();
    clearTimeout(drag.timer);
    send();
    drag = null;
    grip.classList.remove("ps-slab-grip-on");
    place();
  };
  grip.addEventListener("pointerup", release);
  grip.addEventListener("pointercancel", release);

  window.addEventListener("ps-player", (e) => {
    const p = e.detail;
    p.on("frame", place);
    p.on("camera", place);
    place();
  });
  (function follow() {
    if (!T() || !T().state || !T().state.watch) {
      setTimeout(follow, 200);
      return;
    }
    T().state.watch([N.Slab.ON, N.Slab.POS, N.Slab.ORIENT], () => place());
  })();
  P.slabGrip = () => {
    const g = grip.style.display === "none" || !grip.parentNode ? null : grip.getBoundingClientRect();
    return g && { x: g.left + g.width / 2, y: g.top + g.height / 2 };
  };

  window.addEventListener("keydown", (e) => {
    if (!get(N.Slab.ON) || e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
    e.preventDefault();
    T().trigger(N.Trigger.SL_STEP, [e.key === "ArrowUp" ? 1 : -1]);
  });
})();
