/* The slab in the browser's own (vtk.js) view: two clipping planes on every surface.
 *
 * The server says where the planes are (sl_planes: a point and the normal that keeps the
 * inside, for each face) and which actors they clip (sl_clip: vtk.js instance ids). The caps
 * that close the cut solids arrive as ordinary actors with the scene; the discs capping cut
 * masses move per frame (sl_mass), as the masses do. The server clips its own VTK actors with
 * the very same planes, so remote images show the same slab. Keys: ↑/↓ move the slab.
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
  const local = () => get(N.View.MODE) !== "remote";

  /** What a vtk.js mapper reads from a clipping plane (a vtkPlane would do the same). */
  function makePlane() {
    let origin = [0, 0, 0];
    let normal = [0, 0, 1];
    let mtime = 1;
    return {
      getOriginByReference: () => origin,
      getNormalByReference: () => normal,
      getOrigin: () => origin.slice(),
      getNormal: () => normal.slice(),
      getMTime: () => mtime,
      isA: (name) => ["vtkPlane", "vtkImplicitFunction", "vtkObject"].includes(name),
      getClassName: () => "vtkPlane",
      isDeleted: () => false,
      place: (p) => {
        origin = [p[0], p[1], p[2]];
        normal = [p[3], p[4], p[5]];
        mtime += 1;
      },
    };
  }
  const planes = [makePlane(), makePlane()];
  let clipped = [];

  function colMajor(m) {
    return [m[0], m[4], m[8], 0, m[1], m[5], m[9], 0, m[2], m[6], m[10], 0,
      m[3], m[7], m[11], 1];
  }

  /** Put the slab's planes on the listed actors (and take them off everything else). */
  P.applySlab = function () {
    const v = P.localView && P.localView();
    if (!v || !v.ctx) return false;
    clipped.forEach((m) => planes.forEach((p) => m.removeClippingPlane(p)));
    clipped = [];
    const spec = get(N.Slab.PLANES);
    if (spec && get(N.Slab.ON)) {
      planes[0].place(spec[0]);
      planes[1].place(spec[1]);
      (get(N.Slab.CLIP_IDS) || []).forEach((id) => {
        const actor = v.ctx.getInstance(id);
        const mapper = actor && actor.getMapper && actor.getMapper();
        if (!mapper || !mapper.addClippingPlane) return;
        planes.forEach((p) => mapper.addClippingPlane(p));
        mapper.modified();
        clipped.push(mapper);
      });
    }
    (get(N.Slab.MASS_CAPS) || []).forEach((row) => {
      const actor = v.ctx.getInstance(row[0]);
      if (!actor) return;
      actor.setVisibility(!!row[1]);
      actor.setUserMatrix(colMajor(row.slice(2)));
    });
    P.slabClipped = clipped.length;
    if (v.renderer) v.render();
    return true;
  };

  // the scene may be re-sent (a push after a move): the planes go back on after every sync
  const applySpread = P.applySpread;
  P.applySpread = function () {
    const out = applySpread.apply(this, arguments);
    if (local()) P.applySlab();
    return out;
  };

  function watch() {
    if (!T() || !T().state || !T().state.watch) {
      setTimeout(watch, 200);
      return;
    }
    T().state.watch([N.Slab.PLANES, N.Slab.CLIP_IDS, N.Slab.MASS_CAPS, N.Slab.ON], () => {
      if (local()) P.applySlab();
    });
  }
  watch();

  window.addEventListener("keydown", (e) => {
    if (!get(N.Slab.ON) || e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
    e.preventDefault();
    T().trigger(N.Trigger.SL_STEP, [e.key === "ArrowUp" ? 1 : -1]);
  });
})();
