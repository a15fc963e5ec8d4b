/* The offline page around the player: timeline with stage marks, caption card, PSA chart,
 * legend, camera presets, structure groups, presentation keys. Plain DOM, no framework.
 *
 * Query parameters: ?date=YYYY-MM[-DD] or ?t=SECONDS, ?camera=NAME, ?labels=1, and
 * ?frame=WxH (just the 3D picture at that size, no words: what tests compare with
 * `pelvic-spread render --no-captions`).
 */

import { createPlayer } from "./player.js";
import { monthYear } from "./timeline.js";

const EPOCH_ORDINAL = 719163;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** "YYYY-MM[-DD]" -> day number (Python's toordinal), or null. */
export function parseDay(text) {
  const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(String(text || "").trim());
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3] || 1));
  return ms / 86400000 + EPOCH_ORDINAL;
}

function rgb(c) {
  return `rgb(${c.map((v) => Math.round(v * 255)).join(",")})`;
}

/** Where the page starts: time from ?date= or ?t=, camera from ?camera=. */
function fromQuery(player, query) {
  const q = new URLSearchParams(query);
  const out = {};
  const tl = player.header.timeline;
  if (tl && q.get("date")) {
    const day = parseDay(q.get("date"));
    if (day !== null) out.time = interpolateTime(tl, day);
  } else if (tl && q.get("t") !== null && Number.isFinite(Number(q.get("t")))) {
    out.time = Number(q.get("t"));
  }
  if (q.get("camera")) out.camera = q.get("camera");
  return out;
}

function interpolateTime(tl, day) {
  const { days, times } = tl;
  if (day <= days[0]) return times[0];
  for (let i = 1; i < days.length; i++) {
    if (day <= days[i]) return times[i - 1] + ((day - days[i - 1]) / (days[i] - days[i - 1])) * (times[i] - times[i - 1]);
  }
  return times[times.length - 1];
}

/** Just the picture, at an exact size (for comparing with the still renderer). */
export function mountFrame(root, bundle, size, query) {
  root.classList.add("psp-frame");
  root.style.width = `${size[0]}px`;
  root.style.height = `${size[1]}px`;
  const probe = { header: bundle.header };
  const start = fromQuery(probe, query);
  const player = createPlayer(root, bundle, { size, interactive: false,
    camera: start.camera, time: start.time });
  return player;
}

/** The whole page. */
export function mountPage(root, bundle, query = "") {
  const H = bundle.header;
  const tl = H.timeline;
  root.classList.add("psp-page");
  document.title = H.name || "Pelvic spread";

  // -- layout --------------------------------------------------------------------------------
  const bar = el("header", "psp-bar");
  const title = el("div", "psp-title", H.name);
  const presets = el("div", "psp-presets");
  const tools = el("div", "psp-tools");
  bar.append(title, presets, tools);
  const main = el("div", "psp-main");
  const view = el("div", "psp-view");
  view.id = "view3d";
  const side = el("aside", "psp-side");
  side.hidden = true;
  main.append(view, side);
  const foot = el("footer", "psp-timeline");
  root.append(bar, main, foot);

  const probe = { header: H };
  const start = fromQuery(probe, query);
  const q = new URLSearchParams(query);
  const player = createPlayer(view, bundle, { camera: start.camera, time: start.time,
    labels: q.get("labels") === "1" });

  // -- caption card, legend, credit ----------------------------------------------------------
  const card = el("div", "psp-caption");
  card.id = "caption";
  const cDate = el("div", "psp-caption-date");
  const cTitle = el("div", "psp-caption-title");
  cTitle.id = "caption-title";
  const cText = el("div", "psp-caption-text");
  const cFoot = el("div", "psp-caption-foot");
  const cPsa = el("span", "psp-caption-psa");
  const cSource = el("span", "psp-caption-source");
  cFoot.append(cPsa, cSource);
  card.append(cDate, cTitle, cText, cFoot);
  if (tl) view.appendChild(card);

  if (tl) {
    const legend = el("div", "psp-legend");
    legend.id = "legend";
    H.legend.forEach((e) => {
      const row = el("div", "psp-legend-row");
      const sw = el("span", `psp-arrow psp-arrow-${e.style}`);
      sw.style.color = rgb(H.colours[e.style] || [0, 0, 0]);
      row.append(sw, el("span", "", e.text));
      legend.appendChild(row);
    });
    const front = el("div", "psp-legend-row");
    const fs = el("span", "psp-swatch");
    fs.style.background = `linear-gradient(90deg, ${rgb(H.colours.calm)}, ${rgb(H.colours.leading)})`;
    front.append(fs, el("span", "", "tumour front, just reached"));
    const calm = el("div", "psp-legend-row");
    const cs = el("span", "psp-swatch");
    cs.style.background = rgb(H.colours.calm);
    calm.append(cs, el("span", "", "nerve involved"));
    legend.append(front, calm);
    view.appendChild(legend);
  }
  if (H.credit) {
    const credit = el("div", "psp-credit", H.credit);
    credit.title = H.credit;
    view.appendChild(credit);
  }

  // -- camera presets ------------------------------------------------------------------------
  const presetButtons = H.cameras.map((c, i) => {
    const b = el("button", "psp-btn", c.label);
    b.title = c.key ? `${c.label} (key ${c.key})` : c.label;
    b.dataset.preset = c.name;
    b.addEventListener("click", () => player.setCamera(c.name, { animate: true }));
    presets.appendChild(b);
    return b;
  });
  const markPreset = (cam) => presetButtons.forEach((b) => {
    b.classList.toggle("psp-on", b.dataset.preset === cam.preset);
  });
  player.on("camera", markPreset);
  markPreset(player.getCamera());

  // -- tools: labels, structures -----------------------------------------------------------
  const labelsBtn = el("button", "psp-btn", "Labels");
  labelsBtn.title = "Labels on key structures (key L)";
  labelsBtn.addEventListener("click", () => player.setLabels(!player.getLabels()));
  player.on("labels", (on) => labelsBtn.classList.toggle("psp-on", on));
  labelsBtn.classList.toggle("psp-on", player.getLabels());
  const structBtn = el("button", "psp-btn", "Structures");
  structBtn.id = "structures-button";
  structBtn.addEventListener("click", () => {
    side.hidden = !side.hidden;
    structBtn.classList.toggle("psp-on", !side.hidden);
    player.resize();
  });
  tools.append(labelsBtn, structBtn);

  side.appendChild(el("div", "psp-side-title", "Structures"));
  const boxes = {};
  const byParent = {};
  H.nodes.forEach((n) => (byParent[n.parent || ""] = byParent[n.parent || ""] || []).push(n));
  function treeRow(n, depth) {
    const row = el("label", "psp-node");
    row.style.paddingLeft = `${6 + depth * 14}px`;
    const box = el("input");
    box.type = "checkbox";
    box.checked = player.isVisible(n.id);
    box.dataset.node = n.id;
    box.addEventListener("change", () => player.setVisible(n.id, box.checked));
    boxes[n.id] = box;
    row.append(box, el("span", "", n.name));
    side.appendChild(row);
    (byParent[n.id] || []).forEach((c) => treeRow(c, depth + 1));
  }
  (byParent[""] || []).forEach((n) => treeRow(n, 0));
  player.on("visibility", () => {
    Object.entries(boxes).forEach(([id, box]) => {
      box.checked = player.isVisible(id);
    });
  });

  // -- timeline --------------------------------------------------------------------------
  if (tl) {
    const controls = el("div", "psp-controls");
    const playBtn = el("button", "psp-btn psp-play", "Play");
    playBtn.id = "play";
    playBtn.title = "Play / pause (space)";
    playBtn.addEventListener("click", () => (player.isPlaying() ? player.pause() : player.play()));
    const prev = el("button", "psp-btn", "◀ Stage");
    prev.title = "Previous stage (left arrow)";
    prev.addEventListener("click", () => player.prevStage());
    const next = el("button", "psp-btn", "Stage ▶");
    next.title = "Next stage (right arrow)";
    next.addEventListener("click", () => player.nextStage());
    const date = el("div", "psp-date");
    date.id = "date";
    const stageTitle = el("div", "psp-stage-title");
    const speedSel = el("select", "psp-speed");
    speedSel.title = "Speed";
    [0.25, 0.5, 1, 2, 4].forEach((s) => {
      const o = el("option", "", `${s}×`);
      o.value = String(s);
      if (s === 1) o.selected = true;
      speedSel.appendChild(o);
    });
    speedSel.addEventListener("change", () => player.setSpeed(Number(speedSel.value)));
    const psaNow = el("div", "psp-psa-now");
    psaNow.id = "psa-now";
    controls.append(prev, playBtn, next, date, stageTitle, psaNow, speedSel);

    const scrub = el("div", "psp-scrub");
    const chart = buildChart(tl);
    const marks = el("div", "psp-marks");
    const span = Math.max(tl.duration - tl.start, 1e-9);
    const pct = (t) => `${(100 * (t - tl.start)) / span}%`;
    tl.stages.forEach((s, i) => {
      const m = el("div", "psp-mark");
      m.style.left = pct(s.time);
      m.title = `${monthYear(s.start)}: ${s.title}`;
      m.dataset.stage = String(i);
      m.addEventListener("click", () => player.setStage(i));
      marks.appendChild(m);
    });
    const range = el("input", "psp-range");
    range.type = "range";
    range.id = "scrub";
    range.min = String(tl.start);
    range.max = String(tl.duration);
    range.step = "0.01";
    range.addEventListener("input", () => player.seek(Number(range.value)));
    const ticks = el("div", "psp-ticks");
    tl.ticks.forEach((t) => {
      const k = el("div", "psp-tick", t.label);
      k.style.left = pct(t.time);
      ticks.appendChild(k);
    });
    const events = el("div", "psp-events");
    const lastInRow = [-Infinity, -Infinity];
    ((tl.record && tl.record.events) || []).forEach((e) => {
      const k = el("div", `psp-event psp-side-${e.side}`, e.short);
      k.style.left = pct(e.time);
      k.title = `${e.date}: ${e.label}`;
      // close marks take turns between two rows, so their words do not overlap
      const x = (e.time - tl.start) / span;
      const row = x - lastInRow[0] < 0.08 && x - lastInRow[1] >= x - lastInRow[0] ? 1 : 0;
      lastInRow[row] = x;
      if (row) k.classList.add("psp-event-low");
      k.addEventListener("click", () => player.seek(e.time));
      events.appendChild(k);
    });
    if (tl.record && tl.record.values.length) {
      scrub.appendChild(el("div", "psp-chart-label",
        `${tl.record.marker || "PSA"} (${tl.record.unit})`));
    }
    scrub.append(chart, marks, range, ticks, events);
    foot.append(controls, scrub);

    let lastStage = -2;
    const show = (st) => {
      date.textContent = monthYear(st.date);
      stageTitle.textContent = st.stage ? st.stage.title : "";
      psaNow.textContent = st.psaText || "";
      if (document.activeElement !== range) range.value = String(st.time);
      cursor.setAttribute("x1", String((1000 * (st.time - tl.start)) / span));
      cursor.setAttribute("x2", String((1000 * (st.time - tl.start)) / span));
      cDate.textContent = monthYear(st.date);
      if (st.stageIndex !== lastStage) {
        lastStage = st.stageIndex;
        card.hidden = !st.stage;
        cTitle.textContent = st.stage ? st.stage.title : "";
        cText.textContent = st.stage ? st.stage.caption : "";
        cSource.textContent = st.stage && st.stage.source ? `Paper: ${st.stage.source}` : "";
        [...marks.children].forEach((m, i) => m.classList.toggle("psp-on", i === st.stageIndex));
      }
      cPsa.textContent = st.psaText || "";
    };
    const cursor = chart.querySelector(".psp-cursor");
    player.on("time", show);
    player.on("play", (p) => {
      playBtn.textContent = p.playing ? "Pause" : "Play";
      root.classList.toggle("psp-playing", p.playing);
    });
    show(player.state());
  }

  // -- keys (a clicker sends page keys) -----------------------------------------------------
  function typing(t) {
    if (!t) return false;
    const tag = t.tagName;
    if (t.isContentEditable || tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && !["range", "checkbox", "radio", "button"].includes(t.type);
  }
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    let used = true;
    if (e.key === " " || e.code === "Space") {
      if (player.isPlaying()) player.pause();
      else player.play();
    } else if (e.key === "ArrowRight" || e.key === "PageDown") player.nextStage();
    else if (e.key === "ArrowLeft" || e.key === "PageUp") player.prevStage();
    else if (/^[1-9]$/.test(e.key)) {
      const c = H.cameras[Number(e.key) - 1];
      if (c) player.setCamera(c.name, { animate: true });
    } else if (e.key === "l" || e.key === "L") player.setLabels(!player.getLabels());
    else used = false;
    if (used) {
      e.preventDefault();
      e.stopPropagation();
    }
  }, true);

  // the page is laid out whole now (the timeline below the view came after the player): the
  // canvas takes the view's size before its first frame, not a frame later
  player.resize();
  return player;
}

function buildChart(tl) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 1000 100");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.classList.add("psp-chart");
  svg.id = "psa-chart";
  const span = Math.max(tl.duration - tl.start, 1e-9);
  const values = ((tl.record && tl.record.values) || []).filter((v) => v.time !== null);
  if (values.length) {
    const top = Math.ceil(Math.max(1, ...values.map((v) => v.value)));
    const y = (v) => 95 - (85 * Math.min(v, top)) / top;
    for (let v = 0; v <= top; v += Math.max(1, Math.floor(top / 3))) {
      const g = document.createElementNS(ns, "line");
      g.setAttribute("x1", "0");
      g.setAttribute("x2", "1000");
      g.setAttribute("y1", String(y(v)));
      g.setAttribute("y2", String(y(v)));
      g.setAttribute("class", "psp-grid");
      svg.appendChild(g);
    }
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", values.map((v) => `${(1000 * (v.time - tl.start)) / span},${y(v.value)}`).join(" "));
    line.setAttribute("class", "psp-psa-line");
    svg.appendChild(line);
    values.forEach((v) => {
      const c = document.createElementNS(ns, "circle");
      c.setAttribute("cx", String((1000 * (v.time - tl.start)) / span));
      c.setAttribute("cy", String(y(v.value)));
      c.setAttribute("r", "2.5");
      c.setAttribute("class", "psp-psa-dot");
      const t = document.createElementNS(ns, "title");
      t.textContent = `${v.date}: ${v.text}${v.note ? ` (${v.note})` : ""}`;
      c.appendChild(t);
      svg.appendChild(c);
    });
  } else {
    svg.classList.add("psp-chart-empty");
  }
  const cursor = document.createElementNS(ns, "line");
  cursor.setAttribute("y1", "0");
  cursor.setAttribute("y2", "100");
  cursor.setAttribute("class", "psp-cursor");
  svg.appendChild(cursor);
  return svg;
}
