/* A lecture follower: the player (static/player.js) driven by the presenter's events.
 *
 * The page is static. It opens a plain websocket (lecture/ws beside the page, or ?ws=URL),
 * gets the lecture's snapshot, loads the case's bundle once, and then only applies events:
 * play from an anchor (animation time at a server wall-clock instant, speed), seek, scenario,
 * camera, hidden structures and looks, labels, the slab (a file the event names, fetched once
 * per slab) and its MR panel (a picture the event names) with the finding of the date. It
 * animates by itself between events: nothing
 * per frame comes from the server. Its clock offset to the server comes from ping/pong (half
 * the round trip; the sample with the shortest trip wins).
 *
 * The follower may turn its own camera, choose a preset, hide structures or toggle labels:
 * from then on its view is its own (time, the slab and its panel still follow) until "Follow the
 * presenter".
 * A dropped connection comes back by itself (backoff 0.25 s .. 4 s) and resyncs from the
 * snapshot. window.pelvicFollow exposes the state for tests.
 */
(function () {
  "use strict";
  const PS = window.PelvicSpread;
  const root = document.getElementById("ps-root");
  const dec = new TextDecoder();
  const F = {
    state: {}, epoch: null, seq: -1, offset: 0, rtt: Infinity, samples: [],
    following: true, connected: false, joins: 0, player: null, bundle: null, slab: null,
    panel: null,
    applied: 0, events: 0, bytes: 0, error: "", ws: null,
  };
  window.pelvicFollow = F;

  /** A new element of ``tag`` with a class and, given one, an id. */
  const el = (tag, className, id) => {
    const e = document.createElement(tag);
    e.className = className;
    if (id) e.id = id;
    return e;
  };

  // -- chrome: a status line and the way back to the presenter's view ----------------------
  const bar = el("div", "psf-bar");
  const status = el("span", "psf-status", "follow-status");
  const back = el("button", "psf-follow", "follow-presenter");
  back.textContent = "Follow the presenter";
  back.title = "Back to the presenter's camera, structures and labels";
  back.hidden = true;
  back.addEventListener("click", () => follow(true));
  bar.append(status, back);
  document.body.appendChild(bar);

  function showStatus() {
    const what = !F.connected ? "Reconnecting to the lecture…"
      : !F.state.bundle ? "Waiting for the presenter…"
        : F.following ? "Following the presenter" : "Your own view (time follows the presenter)";
    status.textContent = what;
    bar.classList.toggle("psf-own", !F.following);
    bar.classList.toggle("psf-offline", !F.connected);
    back.hidden = F.following;
  }

  // -- clock ------------------------------------------------------------------------------
  const serverNow = () => Date.now() + F.offset;
  function onPong(m) {
    const now = Date.now();
    const rtt = now - m.c;
    if (!(rtt >= 0)) return;
    F.samples.push({ rtt, offset: m.s - (m.c + now) / 2 });
    if (F.samples.length > 16) F.samples.shift();
    const best = F.samples.reduce((a, b) => (b.rtt < a.rtt ? b : a));
    const moved = Math.abs(best.offset - F.offset) > 2;
    F.offset = best.offset;
    F.rtt = best.rtt;
    if (moved && F.state.playing) applyTime();
  }

  // -- the websocket ----------------------------------------------------------------------
  function wsUrl() {
    const q = new URLSearchParams(window.location.search);
    const u = new URL(q.get("ws") || root.dataset.ws || "lecture/ws", window.location.href);
    if (u.protocol === "http:") u.protocol = "ws:";
    else if (u.protocol === "https:") u.protocol = "wss:";
    return u.href;
  }
  let backoff = 250;
  let pinger = 0;
  function send(obj) {
    if (F.ws && F.ws.readyState === WebSocket.OPEN) F.ws.send(JSON.stringify(obj));
  }
  const ping = () => send({ t: "ping", c: Date.now() });
  /** A few pings over the next seconds: one of them will find the page and the network
   * quiet (a page that is busy loading answers late, which skews half the round trip). */
  const pingBurst = () => [0, 150, 400, 1000, 2500, 5000].forEach((ms) => setTimeout(ping, ms));
  function connect() {
    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (err) {
      F.error = String(err);
      return retry();
    }
    F.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      backoff = 250;
      F.connected = true;
      F.joins += 1;
      F.samples = [];
      pingBurst();
      clearInterval(pinger);
      pinger = setInterval(ping, 10000);
      showStatus();
    };
    ws.onmessage = (e) => {
      const text = typeof e.data === "string" ? e.data : dec.decode(e.data);
      F.bytes += text.length;
      let m;
      try {
        m = JSON.parse(text);
      } catch (err) {
        return;
      }
      handle(m);
    };
    ws.onclose = () => {
      if (F.ws !== ws) return;
      F.connected = false;
      clearInterval(pinger);
      showStatus();
      retry();
    };
  }
  function retry() {
    const wait = backoff * (0.75 + Math.random() / 2);
    backoff = Math.min(4000, backoff * 2);
    setTimeout(connect, wait);
  }
  /** For tests and for a page that knows its network changed: drop and rejoin now. */
  F.reconnect = () => {
    backoff = 50;
    if (F.ws && F.ws.readyState <= WebSocket.OPEN) F.ws.close();
    else connect();
  };

  function handle(m) {
    if (m.t === "pong") return onPong(m);
    if (m.t === "snap") {
      F.epoch = m.e;
      F.seq = m.q;
      F.state = m.s || {};
      F.events += 1;
      return apply(null, false);
    }
    if (m.t === "ev") {
      if (m.e !== F.epoch || m.q !== F.seq + 1) return send({ t: "sync" });
      F.seq = m.q;
      Object.assign(F.state, m.s);
      F.events += 1;
      return apply(Object.keys(m.s), true);
    }
  }

  // -- applying the presenter's state -----------------------------------------------------
  let loading = null;
  let listeners = [];
  function apply(keys, animate) {
    showStatus();
    const has = (k) => !keys || keys.includes(k);
    const url = F.state.bundle;
    if (!url) return; // the presenter's case is still being packed
    if (url !== F.bundle) {
      if (loading !== url) load(url);
      return; // applied whole once the bundle is in
    }
    if (!F.player) return;
    if (has("playing") || has("anchorTime") || has("anchorWall") || has("speed") || has("time")) {
      applyTime();
    }
    if (has("slab")) applySlab();
    if (has("panel") || has("finding")) applyPanel();
    if (F.following) applyView(keys, animate);
    F.applied += 1;
  }

  function applyTime() {
    const s = F.state;
    const p = F.player;
    if (!p || typeof s.time !== "number") return;
    if (s.playing && typeof s.anchorWall === "number") {
      p.play({ anchorTime: s.anchorTime, anchorWallClock: s.anchorWall - F.offset,
        speed: s.speed || 1 });
    } else {
      p.pause();
      p.setTime(s.time);
    }
  }

  /** The presenter's slab: its message (planes, caps) from the file the event names, kept for
   * the last few slabs (a presenter stepping back and forth asks for them again). */
  const slabs = new Map();
  let slabWanted = null;
  async function applySlab() {
    const url = typeof F.state.slab === "string" ? F.state.slab : null;
    slabWanted = url;
    let message = url ? slabs.get(url) : null;
    if (url && !message) {
      try {
        const res = await fetch(new URL(url, window.location.href).href);
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        message = await res.json();
      } catch (err) {
        F.error = String(err.message || err);
        return;
      }
      slabs.set(url, message);
      if (slabs.size > 8) slabs.delete(slabs.keys().next().value);
    }
    if (slabWanted !== url || !F.player) return; // a newer slab came meanwhile
    F.player.setSlab(message || null);
    F.slab = url;
  }

  /** The presenter's MR panel (the schematic MR image of the slab at the date shown, a file
   * the event names) with the finding of the date, beside the 3D view; it goes with the slab. */
  function applyPanel() {
    const url = typeof F.state.panel === "string" ? F.state.panel : null;
    const main = root.querySelector(".psp-main");
    if (!main || !F.player) return;
    let box = main.querySelector(".psf-mr");
    F.panel = url;
    if (!url) {
      if (box) {
        box.remove();
        F.player.resize();
      }
      return;
    }
    if (!box) {
      box = el("aside", "psf-mr", "mr-panel");
      const img = el("img", "", "mr-image");
      img.alt = "Schematic MR image of the slab";
      box.append(img, el("div", "psf-mr-finding", "mr-finding"));
      main.insertBefore(box, main.querySelector(".psp-side")); // the 3D view makes room
      F.player.resize();
    }
    const img = box.querySelector("img");
    const src = new URL(url, window.location.href).href;
    if (img.src !== src) img.src = src; // immutable: a panel seen before comes from the cache
    const caption = box.querySelector(".psf-mr-finding");
    const f = F.state.finding && typeof F.state.finding === "object" ? F.state.finding : null;
    caption.textContent = "";
    if (f) {
      const title = document.createElement("b");
      title.textContent = String(f.title || "");
      caption.append(title, ` ${String(f.text || "")}`);
      if (f.figure) caption.append(` (Paper: ${String(f.figure)})`);
    }
  }

  function applyView(keys, animate) {
    const s = F.state;
    const p = F.player;
    const has = (k) => !keys || keys.includes(k);
    if ((has("looks") || has("hidden")) && s.looks && typeof s.looks === "object") {
      applyLooks(s.looks, s.isolated);
    } else if (has("hidden") && Array.isArray(s.hidden)) {
      const ids = p.nodes().map((n) => n.id);
      const known = new Set(ids);
      const hidden = new Set(s.hidden.filter((id) => known.has(id)));
      p.setVisible(ids.filter((id) => !hidden.has(id)), true);
      const off = ids.filter((id) => hidden.has(id));
      if (off.length) p.setVisible(off, false);
    }
    if (has("labels") && typeof s.labels === "boolean") p.setLabels(s.labels);
    if (has("camera") && s.camera) {
      const opts = { animate: animate ? true : false };
      try {
        if (s.camera.preset) p.setCamera(s.camera.preset, opts);
        else if (s.camera.position) p.setCamera(s.camera, opts);
      } catch (err) {
        F.error = String(err.message || err); // a preset this case does not have
      }
    }
  }

  /** Every drawable's look as the presenter's page has it: the bundle's, except the ones the
   * hub lists ([visible 0|1, opacity, "#rrggbb"]); with a structure isolated, its subtree
   * shows and every other drawable is at most `faint` opaque (as the server's looks). */
  function applyLooks(changed, isolated) {
    const p = F.player;
    const known = new Set(p.nodes().map((n) => n.id));
    const focus = isolated && known.has(isolated.id) ? new Set(p.subtree(isolated.id)) : null;
    const looks = {};
    p.header.actors.filter((a) => a.kind === "node").forEach((a) => {
      const given = Array.isArray(changed[a.id]) ? changed[a.id] : null;
      const look = given ? { visible: !!given[0], opacity: Number(given[1]), color: given[2] }
        : { visible: null, opacity: a.prop.opacity, color: null }; // null: the bundle's own
      if (focus && focus.has(a.id)) look.visible = true;
      else if (focus) look.opacity = Math.min(look.opacity, Number(isolated.faint));
      looks[a.id] = look;
    });
    p.setLooks(looks);
  }

  function follow(on) {
    F.following = !!on;
    if (F.following && F.player) applyView(null, true);
    showStatus();
  }
  F.follow = follow;
  const goOwn = () => {
    if (F.following) follow(false);
  };

  /** Mount the case: the player's own page (caption, PSA chart, legend, presets, structure
   * tree) with its time controls switched off: time is the presenter's. */
  async function load(url) {
    loading = url;
    let bundle;
    try {
      bundle = await PS.fetchBundle(new URL(url, window.location.href).href);
    } catch (err) {
      F.error = String(err.message || err);
      loading = null;
      setTimeout(() => apply(null, false), 1000);
      return;
    }
    if (loading !== url) return; // another scenario came meanwhile
    if (F.player) {
      document.body.appendChild(bar);
      F.player.destroy();
      listeners.forEach(([target, type, fn, opts]) => target.removeEventListener(type, fn, opts));
      listeners = [];
      root.innerHTML = "";
      root.className = "";
    }
    // the page adds window/document listeners of its own: note them, to drop on a switch
    const targets = [window, document];
    const originals = targets.map((t) => t.addEventListener);
    targets.forEach((t, i) => {
      t.addEventListener = function (type, fn, opts) {
        listeners.push([t, type, fn, opts]);
        return originals[i].call(this, type, fn, opts);
      };
    });
    let player;
    try {
      player = PS.mountPage(root, bundle, "");
    } finally {
      targets.forEach((t, i) => {
        t.addEventListener = originals[i];
      });
    }
    root.classList.add("psf-follower");
    const head = root.querySelector(".psp-bar");
    if (head) {
      bar.classList.add("psf-inline"); // in the page's own header from now on
      head.appendChild(bar);
    }
    root.querySelectorAll(".psp-controls button, .psp-controls select, .psp-range")
      .forEach((el) => {
        el.disabled = true;
        el.title = "The presenter moves the time";
      });
    player.on("camera", (_cam, info) => {
      if (info && info.source === "user") goOwn();
    });
    F.player = player;
    F.bundle = url;
    loading = null;
    await player.ready;
    apply(null, false);
    pingBurst(); // now that the page is idle: a better clock offset
    F.ready = true;
    document.body.classList.add("psf-ready");
  }

  // a follower's own choices: presets, structures, labels (clicks, not the player's events,
  // which also fire when the presenter's view is applied)
  root.addEventListener("click", (e) => {
    const t = e.target;
    if (t.closest && (t.closest(".psp-presets") || t.closest(".psp-tools"))) {
      if (!t.closest("#structures-button")) goOwn();
    }
  }, true);
  root.addEventListener("change", (e) => {
    if (e.target.closest && e.target.closest(".psp-side")) goOwn();
  }, true);
  // keys: 1-9 and L are the follower's own view; time keys belong to the presenter
  window.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || !F.player) return;
    const tag = e.target && e.target.tagName;
    if (tag === "INPUT" && e.target.type === "text") return;
    const p = F.player;
    let used = true;
    if (/^[1-9]$/.test(e.key)) {
      const c = p.header.cameras[Number(e.key) - 1];
      if (c) {
        goOwn();
        p.setCamera(c.name, { animate: true });
      }
    } else if (e.key === "l" || e.key === "L") {
      goOwn();
      p.setLabels(!p.getLabels());
    } else if (e.key === "f" || e.key === "F") follow(true);
    else if (![" ", "ArrowLeft", "ArrowRight", "PageUp", "PageDown"].includes(e.key)) used = false;
    if (used) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  showStatus();
  connect();
})();
