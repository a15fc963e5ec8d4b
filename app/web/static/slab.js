/* The slab in the page's own 3D view (the browser player).
 *
 * The server sends each slab move as one compact message (sl_msg: the two clipping planes, the
 * caps it cut, the faces' axes, the structures drawn faint outside; app.render.slab's
 * slab_message without the panel) and this hands it to player.setSlab: the player clips every
 * surface with the planes, draws the caps and places the discs capping cut masses per frame
 * itself. The server clips and caps its own VTK actors with the very same slab, so remote
 * images show the same picture. Keys: ↑/↓ move the slab.
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

  window.addEventListener("keydown", (e) => {
    if (!get(N.Slab.ON) || e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
    e.preventDefault();
    T().trigger(N.Trigger.SL_STEP, [e.key === "ArrowUp" ? 1 : -1]);
  });
})();
