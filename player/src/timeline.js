/* The spread's state at a time, computed in the browser: what Spread.state_at(t) and
 * SpreadLayer.uniforms(state) give in Python (app/spread/model.py, app/render/spread_layer.py),
 * from the bundle's timeline. Pure functions, no vtk.js: a test evaluates them against Python.
 */

const EASE = {
  linear: (x) => Math.min(1, Math.max(0, x)),
  ease_in: (x) => {
    x = Math.min(1, Math.max(0, x));
    return x * x;
  },
  ease_out: (x) => {
    x = Math.min(1, Math.max(0, x));
    return 1 - (1 - x) * (1 - x);
  },
  smooth: (x) => {
    x = Math.min(1, Math.max(0, x));
    return x * x * (3 - 2 * x);
  },
};

/** numpy.interp for a scalar x over increasing xs (clamped at the ends). */
export function interp(x, xs, ys) {
  const n = xs.length;
  if (x <= xs[0]) return ys[0];
  if (x >= xs[n - 1]) return ys[n - 1];
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  const dx = xs[hi] - xs[lo];
  return dx > 0 ? ys[lo] + ((x - xs[lo]) / dx) * (ys[hi] - ys[lo]) : ys[hi];
}

/** First index i with a[i] > x (numpy.searchsorted side='right'). */
function searchRight(a, x) {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const EPOCH_ORDINAL = 719163; // date(1970, 1, 1).toordinal()
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];

/** Day number (Python's date.toordinal, fractional) -> "YYYY-MM-DD" (app.spread.format_day). */
export function formatDay(day) {
  const d = new Date((Math.floor(day + 1e-6) - EPOCH_ORDINAL) * 86400000);
  return d.toISOString().slice(0, 10);
}

/** "2012-03-15" -> "March 2012" (app.spread.calendar.month_year). */
export function monthYear(date) {
  const m = /^(\d{4})-(\d{2})/.exec(date || "");
  return m ? `${MONTHS[Number(m[2]) - 1]} ${m[1]}` : String(date || "");
}

function sAtDay(route, day) {
  const days = route.knotDays;
  const ss = route.knotS;
  if (day <= days[0]) return ss[0];
  if (day >= days[days.length - 1]) return ss[ss.length - 1];
  const i = searchRight(days, day);
  const f = EASE[route.easing]((day - days[i - 1]) / (days[i] - days[i - 1]));
  return ss[i - 1] + f * (ss[i] - ss[i - 1]);
}

/** Unit tangent of a route's centre line at arc length s (Route.front). */
function tangent(route, s) {
  const S = route.s;
  const P = route.path;
  const n = S.length;
  s = Math.min(Math.max(s, 0), route.length);
  let i = Math.min(Math.max(searchRight(S, s) - 1, 0), n - 2);
  let j = i;
  while (j < n - 2 && S[j + 1] - S[j] < 1e-9) j++;
  while (j > 0 && S[j + 1] - S[j] < 1e-9) j--;
  i = j;
  const d = [P[3 * i + 3] - P[3 * i], P[3 * i + 4] - P[3 * i + 1], P[3 * i + 5] - P[3 * i + 2]];
  const len = Math.hypot(d[0], d[1], d[2]);
  return len > 0 ? [d[0] / len, d[1] / len, d[2] / len] : [0, 0, -1];
}

/** 3x3 rotation taking +x to dir, as columns (spread_layer._rotation_to). */
function rotationTo(dir) {
  const n = Math.hypot(dir[0], dir[1], dir[2]) || 1e-12;
  const x = [dir[0] / n, dir[1] / n, dir[2] / n];
  const helper = Math.abs(x[2]) < 0.9 ? [0, 0, 1] : [0, 1, 0];
  let y = [helper[1] * x[2] - helper[2] * x[1], helper[2] * x[0] - helper[0] * x[2],
    helper[0] * x[1] - helper[1] * x[0]];
  const yn = Math.hypot(y[0], y[1], y[2]);
  y = [y[0] / yn, y[1] / yn, y[2] / yn];
  const z = [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]];
  return [x, y, z];
}

/** Row-major 4x4 of rotation columns * scale + translation. */
function matrix(cols, scale, t) {
  const [x, y, z] = cols;
  return [x[0] * scale, y[0] * scale, z[0] * scale, t[0],
    x[1] * scale, y[1] * scale, z[1] * scale, t[1],
    x[2] * scale, y[2] * scale, z[2] * scale, t[2],
    0, 0, 0, 1];
}

const IDENTITY = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];

/** A timeline made ready for per-frame use (typed arrays resolved by the caller). */
export function makeTimeline(tl) {
  const dayOfTime = (t) => interp(t, tl.times, tl.days);
  const timeOfDay = (day) => interp(day, tl.days, tl.times);
  const values = (tl.record && tl.record.values) || [];

  /** The state at animation time t (clamped): date, stage, and the per-frame uniforms. */
  function stateAt(t) {
    t = Math.min(Math.max(Number(t) || 0, tl.start), tl.duration);
    const day = dayOfTime(t);
    let stageIndex = -1;
    tl.stages.forEach((st, i) => {
      if (st.startDay <= day) stageIndex = i;
    });
    const heads = {};
    const routes = {};
    for (const r of tl.routes) {
      const s = sAtDay(r, day);
      const started = day >= r.knotDays[0];
      routes[r.id] = { frontS: s, progress: r.length > 0 ? s / r.length : 1, started };
      if (!r.headS) continue;
      const pos = [0, 1, 2].map((k) => interpStrided(s, r.headS, r.headPoints, k));
      const dir = tangent(r, s);
      const off = (0.4 - 0.5) * tl.headLength;
      const centre = [pos[0] + off * dir[0], pos[1] + off * dir[1], pos[2] + off * dir[2]];
      heads[r.id] = { visible: started && s > 0, matrix: matrix(rotationTo(dir), 1, centre) };
    }
    const masses = {};
    for (const m of tl.masses) {
      const radius = day < m.knotDays[0] ? 0 : interp(day, m.knotDays, m.knotRadius);
      masses[m.id] = { visible: radius > 0, radius,
        matrix: matrix(IDENTITY, Math.max(radius, 1e-3), m.center) };
    }
    let psa = null;
    let psaText = "";
    for (const v of values) {
      if (v.day <= day) {
        psa = v.value;
        psaText = v.text;
      }
    }
    const stage = stageIndex >= 0 ? tl.stages[stageIndex] : null;
    const date = formatDay(day);
    return {
      time: t, day, date, stageIndex, stage, psa, psaText,
      nerveRange: [t - tl.leadTime, t], arrowRange: [t - 1, t], heads, masses, routes,
      label: date + (stage ? `   ${stage.title}` : ""),
    };
  }

  return { stateAt, dayOfTime, timeOfDay, start: tl.start, duration: tl.duration,
    stages: tl.stages };
}

function interpStrided(x, xs, flat, k) {
  const n = xs.length;
  if (x <= xs[0]) return flat[k];
  if (x >= xs[n - 1]) return flat[3 * (n - 1) + k];
  const i = searchRight(xs, x) - 1;
  const dx = xs[i + 1] - xs[i];
  const f = dx > 0 ? (x - xs[i]) / dx : 1;
  return flat[3 * i + k] + f * (flat[3 * i + 3 + k] - flat[3 * i + k]);
}
