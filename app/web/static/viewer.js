/* Pelvic spread viewer: what the browser does by itself.
 *
 * - The 3D view is the browser player (app/player/static/player.js, window.PelvicSpread), the
 *   same one an exported case.html and a lecture follower run. The server names the current
 *   scenario's bundle in view_bundle: a static, content-hashed, compressed file fetched once
 *   (not pushed through the websocket); a scenario switch names another.
 * - The trame state stays the shared truth (several screens follow one server); this file
 *   drives the player from it: the time (tl_time), and during playback the server's play
 *   anchor (tl_anchor: animation time at a server wall-clock instant, and speed), from which
 *   the player animates by itself: nothing comes per frame. Camera presets (view_goto), the
 *   structures' looks (view_looks), labels. The user's camera moves go back to the server at
 *   the end of each move (cam_moved), for remote rendering, screenshots and shared links.
 * - What this page's player shows now (date, month, PSA, scrubber) is tl_now, a key the page
 *   keeps for itself (client only), so the timeline bar moves smoothly with the picture.
 * - Keyboard (space, arrows/page keys, 1-9), presentation mode, screenshots, share links.
 */
(function () {
  "use strict";
  const P = { marks: {}, frames: 0, player: null, bundle: null };
  window.pelvic = P;
  const mark = (name) => {
    if (!(name in P.marks)) P.marks[name] = Math.round(performance.now());
  };

  // Every state key and trigger name comes from app/web/keys.py (served as names.js); the
  // player from player.js. trame adds the page's scripts in no set order: start() waits.
  let N = window.PS_NAMES;
  const PS = () => window.PelvicSpread;
  const T = () => window.trame;
  const get = (key) => (T() && T().state ? T().state.get(key) : undefined);
  const set = (key, value) => T().state.set(key, value);
  const trigger = (name, args) => T().trigger(name, args || []);
  const local = () => get(N.View.MODE) !== "remote";

  // -- the server's clock (play anchors are given in it) --------------------------------------
  let offset = 0; // server ms - Date.now()
  async function syncClock() {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const s = await trigger(N.Trigger.APP_CLOCK);
      const t1 = Date.now();
      if (typeof s === "number" && t1 - t0 < best) {
        best = t1 - t0;
        offset = s - (t0 + t1) / 2;
      }
    }
    P.clockOffset = offset;
    applyTime();
  }

  /** The play anchor, or null when paused. */
  function anchor() {
    const a = get(N.Timeline.ANCHOR);
    return a && typeof a.time === "number" && typeof a.wall === "number" ? a : null;
  }

  /** The animation time the server's state says it is now. */
  function timeNow() {
    const a = anchor();
    if (a) return a.time + ((Date.now() + offset - a.wall) / 1000) * (a.speed || 1);
    const t = get(N.Timeline.TIME);
    return typeof t === "number" ? t : undefined;
  }

  // -- what this page shows now (tl_now, client only) -----------------------------------------
  function monthYear(date) {
    const m = /^(\d{4})-(\d{2})/.exec(date || "");
    if (!m) return String(date || "");
    return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1))
      .toLocaleString("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
  }

  let nowSent = 0;
  let nowTimer = 0;
  let nowPending = null;
  function flushNow() {
    nowTimer = 0;
    const s = nowPending;
    if (!s || !T()) return;
    nowPending = null;
    nowSent = performance.now();
    const st = s.stage || {};
    set(N.Timeline.NOW, { time: s.time, date: s.date, label: monthYear(s.date),
      psa: s.psaText || "", stage: s.stageIndex, title: st.title || "",
      caption: st.caption || "", source: st.source || "" });
  }
  /** The timeline bar and caption follow the picture: at once for a seek, 20 times a second
   * in play (the stage's words come from the bundle, so they change with the picture). */
  function showNow(s, moving) {
    if (!s) return;
    nowPending = s;
    const wait = moving ? 50 - (performance.now() - nowSent) : 0;
    if (wait <= 0) {
      if (nowTimer) clearTimeout(nowTimer);
      flushNow();
    } else if (!nowTimer) {
      nowTimer = setTimeout(flushNow, wait);
    }
  }

  // Remote rendering: the server's images show the picture; the page's player stays still
  // (no rendering for nothing) and the timeline bar follows the anchor from here.
  let remoteLoop = 0;
  function followRemote() {
    remoteLoop = 0;
    const a = anchor();
    if (!a || local() || !P.player) return;
    showNow(P.player.stateAt(timeNow()), true);
    remoteLoop = requestAnimationFrame(followRemote);
  }

  // -- the player's time ------------------------------------------------------------------------
  function applyTime() {
    const p = P.player;
    if (!p) return;
    const a = anchor();
    if (a && local()) {
      p.play({ anchorTime: a.time, anchorWallClock: a.wall - offset, speed: a.speed || 1 });
      return;
    }
    if (p.isPlaying()) p.pause();
    const t = timeNow();
    if (typeof t === "number") p.setTime(t);
    if (a && !remoteLoop) remoteLoop = requestAnimationFrame(followRemote);
  }

  // -- camera -------------------------------------------------------------------------------------
  const plain = (c) => ({
    position: Array.from(c.position, Number), focalPoint: Array.from(c.focalPoint, Number),
    viewUp: Array.from(c.viewUp, Number), viewAngle: Number(c.viewAngle),
  });

  let lastGoto = null;
  function onGoto(goto) {
    if (!goto || !goto.camera || goto.seq === lastGoto || !P.player) return;
    lastGoto = goto.seq;
    P.player.setCamera(plain(goto.camera), { animate: goto.duration > 0 ? goto.duration : false });
  }

  /** Take the server's camera (leaving remote mode; the server's camera follows every move). */
  P.syncCamera = async function () {
    const camera = await trigger(N.Trigger.CAM_CURRENT);
    if (camera && camera.position && P.player) P.player.setCamera(plain(camera), { animate: false });
  };

  // -- structures: visibility, opacity, colour (the server works out each drawable's look) ----
  function applyLooks() {
    const p = P.player;
    const looks = get(N.View.LOOKS);
    if (!p || !looks) return;
    p.setLooks(PS().unpackLooks(p, looks));
  }

  // -- the bundle and the player ----------------------------------------------------------------
  function slotFor() {
    const box = document.getElementById(N.Refs.PLAYER);
    if (!box) return null;
    const slot = document.createElement("div");
    slot.className = "ps-player-slot";
    box.appendChild(slot);
    return slot;
  }

  const until = (ok) => new Promise((resolve) => {
    const check = () => (ok() ? resolve() : setTimeout(check, 20));
    check();
  });

  /** early.js's player for ``url`` (once; a page that asks for another bundle drops it). */
  function takeEarly(url) {
    const e = window.PS_EARLY_PLAYER;
    if (!e || e.taken) return null;
    e.taken = true;
    if (e.url === url) return e;
    e.promise.then((made) => {
      if (made) made.destroy();
      e.holder.remove();
    });
    return null;
  }

  /** In a narrow view (the MR panel open, a small window) the legend, bottom left, would run
   * under the camera presets or the slab's buttons, bottom right: then it sits just above
   * what it would meet. */
  function liftLegend() {
    const legend = document.getElementById("legend");
    const view = legend && legend.offsetParent;
    if (!view) return; // not shown (no spread, presentation mode)
    legend.style.bottom = "";
    const others = [...document.querySelectorAll("#presets, #slab .ps-slab-bar")];
    for (let round = 0; round < others.length; round++) {
      const l = legend.getBoundingClientRect();
      const hit = others.map((el) => el.getBoundingClientRect())
        .filter((r) => r.width && r.left < l.right && r.right > l.left && r.top < l.bottom && r.bottom > l.top);
      if (!hit.length) return;
      const top = Math.min(...hit.map((r) => r.top));
      legend.style.bottom = `${Math.round(view.getBoundingClientRect().bottom - top + 6)}px`;
    }
  }
  P.liftLegend = liftLegend;

  /** Where the 3D view is, for early.js next time at this window size. */
  function keepRect(box) {
    const e = window.PS_EARLY_PLAYER;
    if (!box) return; // the view is being mounted again (a scenario switch)
    const r = box.getBoundingClientRect();
    if (!e || r.width < 50 || r.height < 50) return;
    const rect = { left: Math.round(r.left), top: Math.round(r.top),
      right: Math.round(window.innerWidth - r.right), bottom: Math.round(window.innerHeight - r.bottom) };
    try {
      window.localStorage.setItem(e.RECT_KEY, JSON.stringify({ w: window.innerWidth, h: window.innerHeight, rect }));
    } catch (err) {
      // no storage: early.js uses the usual layout
    }
  }

  let loading = null;
  let attempt = 0; // each ask for a bundle; a later ask makes the earlier one stand down
  let firstCamera = null;
  /** Load the bundle the server names and show it (the old player stays until then). */
  async function loadBundle(b) {
    if (!b || !b.url || (P.bundle && P.bundle.url === b.url) || loading === b.url) return;
    loading = b.url;
    const mine = ++attempt;
    mark("bundleAsked");
    const old = P.player;
    // the server's camera for a first player (fetched meanwhile); a new scenario keeps the view
    if (!old && !firstCamera) firstCamera = trigger(N.Trigger.CAM_CURRENT);
    // the player early.js has drawn while the page connected, when it shows this bundle
    const early = !old ? takeEarly(b.url) : null;
    let made = early ? await early.promise : null;
    let bundle;
    if (!made) {
      try {
        bundle = await PS().fetchBundle(b.url);
      } catch (err) {
        loading = null;
        P.error = String(err && err.message ? err.message : err);
        setTimeout(() => loadBundle(get(N.View.BUNDLE)), 1000);
        return;
      }
    }
    const dropEarly = () => {
      if (made) made.destroy();
      if (early) early.holder.remove();
    };
    if (loading !== b.url || mine !== attempt) return dropEarly(); // asked again meanwhile
    mark("bundleIn");
    await until(() => document.getElementById(N.Refs.PLAYER));
    const camera = old ? old.getCamera() : await firstCamera;
    if (loading !== b.url || mine !== attempt) return dropEarly();
    let p;
    if (made) {
      p = made;
      const slot = early.holder; // into the 3D view, where the page's styles place it
      slot.removeAttribute("style");
      slot.classList.remove("ps-early");
      document.getElementById(N.Refs.PLAYER).appendChild(slot);
      p.resize();
      p.setLabels(!!get(N.View.LABELS));
    } else {
      const t = timeNow();
      p = PS().createPlayer(slotFor(), bundle, {
        time: typeof t === "number" ? t : undefined, labels: !!get(N.View.LABELS),
      });
    }
    if (camera && camera.position) p.setCamera(plain(camera), { animate: false });
    const goto = get(N.View.CAMERA_GOTO);
    lastGoto = goto ? goto.seq : null; // the server's camera already is where it led
    p.on("camera", (cam, info) => {
      if (info && info.source === "user" && info.end) trigger(N.Trigger.CAM_MOVED, [plain(cam)]);
    });
    p.on("time", (s) => {
      if (p === P.player) showNow(s, p.isPlaying());
    });
    p.on("frame", () => {
      P.frames += 1;
    });
    P.player = p;
    P.bundle = b;
    loading = null;
    mark("built");
    applyLooks();
    applyTime();
    showNow(p.state(), false);
    window.dispatchEvent(new CustomEvent("ps-player", { detail: p })); // slab.js and the like
    await p.ready;
    if (old) {
      const oldSlot = old.canvas().closest(".ps-player-slot");
      old.destroy();
      if (oldSlot) oldSlot.remove();
    }
    P.shown = b.scenario; // the scenario whose first frame is drawn
    if (!P.firstFrameAt) {
      P.firstFrameAt = made ? early.readyAt : Date.now(); // early.js's is on screen since
      if (made) {
        Object.assign(P.marks, early.marks);
        P.marks.firstFrame = early.marks.earlyFirstFrame;
      } else {
        mark("firstFrame");
      }
      document.body.classList.add("ps-ready");
      loadRemoteLib();
      // ready for use: the picture is drawn and the server has its scene (the server builds
      // its own actors after sending the bundle, so the page's controls may come a moment
      // after the first frame)
      await until(() => !!get(N.App.SCENE_TITLE));
      mark("stateIn");
      setTimeout(() => {
        P.sceneReady = true;
      }, 100);
    }
  }

  // -- the server's image stream (remote mode) ------------------------------------------------
  // trame-vtk's script is loaded after the first picture, not before the page's controls mount
  // (view_remote_lib); its view is shown once its Vue plugin is in (view_remote_ready).
  let remoteLib = null;
  function loadRemoteLib() {
    const lib = get(N.View.REMOTE_LIB);
    if (remoteLib || !lib) return;
    const load = (src) => new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error(`${src} did not load`));
      document.head.appendChild(s);
    });
    const vueApp = () => (document.querySelector("#app") || {}).__vue_app__;
    remoteLib = (async () => {
      for (const src of lib.scripts) await load(src);
      await until(vueApp);
      lib.use.forEach((name) => vueApp().use(window[name]));
      set(N.View.REMOTE_READY, true);
      mark("remoteReady");
    })().catch((err) => {
      remoteLib = null; // asked again by the next switch to remote
      P.error = String(err && err.message ? err.message : err);
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
  /** Several keys of one message: act once they are all in. */
  function soon(fn) {
    let queued = false;
    return () => {
      if (queued) return;
      queued = true;
      Promise.resolve().then(() => {
        queued = false;
        fn();
      });
    };
  }

  /** A page that has waited too long for its first picture asks for its scene again: a
   * bundle request that never answered, or a bundle named while the page was connecting,
   * must not leave it blank (benchmarks/soak.py --loads counts pages that drew). */
  function watchFirstPicture() {
    setTimeout(() => {
      if (P.firstFrameAt) return;
      P.askedAgain = (P.askedAgain || 0) + 1;
      mark("askedAgain");
      loading = null;
      loadBundle(get(N.View.BUNDLE));
      watchFirstPicture();
    }, window.PS_ASK_AGAIN_MS || 15000);
  }

  function start() {
    if (!window.PS_NAMES || !PS()) {
      setTimeout(start, 20);
      return;
    }
    N = window.PS_NAMES;
    if (!T() || !T().state || !T().state.ready) {
      setTimeout(start, 20);
      return;
    }
    mark("connected");
    watchFirstPicture();
    const st = T().state;
    // the bundle first: it loads while the page's controls are still being mounted
    st.watch([N.View.BUNDLE], (b) => loadBundle(b));
    loadBundle(get(N.View.BUNDLE));
    st.watch([N.Timeline.TIME, N.Timeline.ANCHOR], soon(applyTime));
    st.watch([N.View.CAMERA_GOTO], onGoto);
    st.watch([N.View.LOOKS], soon(applyLooks));
    st.watch([N.View.LABELS], (on) => P.player && P.player.setLabels(!!on));
    // what can meet the legend comes and goes with these (once Vue has drawn the change)
    st.watch([N.App.LEGEND, N.App.PRESENTING, N.Slab.ON, N.Slab.PANEL],
      () => setTimeout(liftLegend, 60));
    st.watch([N.View.MODE], (mode) => {
      if (mode === "remote") loadRemoteLib();
      applyTime();
      if (mode !== "remote") P.syncCamera();
    });
    if (!local()) loadRemoteLib(); // a page that opens in remote mode wants its images now
    syncClock();
    const box = () => document.getElementById(N.Refs.PLAYER);
    until(box).then(() => {
      new ResizeObserver(() => { // the player follows its own slot in the box
        keepRect(box());
        liftLegend();
      }).observe(box());
    });
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("fullscreenchange", () => {
      if (!document.fullscreenElement && get(N.App.PRESENTING)) set(N.App.PRESENTING, false);
    });
    if (window.location.search.length > 1) trigger(N.Trigger.SH_APPLY_QUERY, [window.location.search]);
  }
  start();
})();
