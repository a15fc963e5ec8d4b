/* Entry of static/player.js: the player API on window.PelvicSpread, and the page started
 * from the bundle the HTML carries (inline base64 in <script id="ps-bundle">, or a URL in its
 * data-src for a static site). */

import { createPlayer } from "./player.js";
import { decodeBundle, fetchBundle, parseBundle } from "./bundle.js";
import { mountFrame, mountPage } from "./page.js";
import { makeTimeline } from "./timeline.js";

const marks = {};
const mark = (name) => {
  if (!(name in marks)) marks[name] = performance.now();
};

async function start() {
  const source = document.getElementById("ps-bundle");
  const root = document.getElementById("ps-root");
  if (!source || !root) return;
  const state = { marks };
  window.pelvic = state;
  try {
    mark("start");
    const bundle = source.dataset.src
      ? await fetchBundle(source.dataset.src)
      : await decodeBundle(source.textContent);
    mark("bundle");
    const q = new URLSearchParams(window.location.search);
    const frame = /^(\d+)x(\d+)$/.exec(q.get("frame") || "");
    const player = frame
      ? mountFrame(root, bundle, [Number(frame[1]), Number(frame[2])], window.location.search)
      : mountPage(root, bundle, window.location.search);
    state.player = player;
    mark("built");
    await player.ready;
    mark("firstFrame");
    document.body.classList.add("psp-ready");
    state.ready = true;
  } catch (err) {
    state.error = String(err && err.message ? err.message : err);
    root.textContent = `This case could not be shown: ${state.error}`;
    root.classList.add("psp-failed");
    throw err;
  }
}

/** ``View.LOOKS`` as the server packs it ({id: [visible 0|1, opacity, "#rrggbb"]}) ->
 * player.setLooks's argument, for the drawables ``player`` has. */
function unpackLooks(player, packed) {
  const known = new Set(player.nodes().map((n) => n.id));
  const looks = {};
  Object.entries(packed).forEach(([id, look]) => {
    if (known.has(id) && Array.isArray(look)) {
      looks[id] = { visible: !!look[0], opacity: look[1], color: look[2] };
    }
  });
  return looks;
}

export { createPlayer, decodeBundle, fetchBundle, parseBundle, makeTimeline, mountPage, mountFrame,
  unpackLooks };

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
