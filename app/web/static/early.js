/* Pelvic spread viewer: the first picture, before trame has connected and mounted the page.
 *
 * The index's head (app/web/early.py) names the bundle the server shows now, with its time,
 * camera, labels and the structures' looks (PS_EARLY), and loads the player. This draws it at once, in a holder placed where the 3D view will be: where
 * it was the last time at this window size (localStorage), else where the page's layout puts it.
 * viewer.js then takes this player (window.PS_EARLY_PLAYER) into the 3D view, gives it the
 * server's time and camera, and drives it as any other.
 */
(function () {
  "use strict";
  const hint = window.PS_EARLY;
  if (!hint || !hint.bundle || !window.PelvicSpread) return;
  // a shared link's view comes with the page's state (viewer.js asks the server to apply it)
  if (window.location.search.length > 1) return;
  const RECT_KEY = "pelvic-spread.view-rect";

  /** Where the 3D view will be, in px from the window's edges. */
  function place() {
    const w = window.innerWidth;
    const h = window.innerHeight;
    try {
      const last = JSON.parse(window.localStorage.getItem(RECT_KEY) || "null");
      if (last && last.w === w && last.h === h) return last.rect;
    } catch (err) {
      // no storage (a private window): the usual layout
    }
    // the app bar (48 px), the structure panel (310 px, beside the view from 1280 px up), the
    // timeline bar (173 px)
    return { left: w >= 1280 ? 310 : 0, top: 48, right: 0, bottom: 173 };
  }

  const holder = document.createElement("div");
  holder.className = "ps-player-slot ps-early";
  const r = place();
  Object.assign(holder.style, {
    position: "fixed", left: `${r.left}px`, top: `${r.top}px`, right: `${r.right}px`,
    bottom: `${r.bottom}px`, zIndex: "1001", // above trame's "Loading..." (1000)
  });
  document.body.appendChild(holder);

  const E = { url: hint.bundle, holder, player: null, readyAt: 0, marks: {} };
  const mark = (name) => {
    E.marks[name] = Math.round(performance.now());
  };
  mark("earlyStart");
  E.promise = window.PelvicSpread.fetchBundle(hint.bundle)
    .then((bundle) => {
      mark("earlyBundleIn");
      // the server's moment, camera and labels (those of the page it serves now)
      E.player = window.PelvicSpread.createPlayer(holder, bundle, {
        time: typeof hint.time === "number" ? hint.time : undefined, labels: !!hint.labels,
      });
      if (hint.camera && hint.camera.position) E.player.setCamera(hint.camera, { animate: false });
      // hidden, faded or recoloured structures ({id: [visible 0|1, opacity, "#rrggbb"]}, as
      // viewer.js applies them later): the first picture already leaves out what is hidden
      if (hint.looks && typeof hint.looks === "object") {
        E.player.setLooks(window.PelvicSpread.unpackLooks(E.player, hint.looks));
      }
      mark("earlyBuilt");
      return E.player.ready;
    })
    .then(() => {
      E.readyAt = Date.now();
      E.firstTime = E.player.getTime(); // the moment its first picture shows
      E.firstHidden = E.player.nodes().map((n) => n.id) // and the drawables it leaves out
        .filter((id) => { const look = E.player.getLook(id); return look && !look.visible; });
      mark("earlyFirstFrame");
      return E.player;
    })
    .catch((err) => {
      E.error = String(err && err.message ? err.message : err);
      if (E.player) E.player.destroy();
      holder.remove();
      return null; // viewer.js loads the bundle itself
    });
  E.RECT_KEY = RECT_KEY;
  window.PS_EARLY_PLAYER = E;
})();
