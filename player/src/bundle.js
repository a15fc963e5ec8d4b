/* Reading a bundle (app/player/bundle.py): b"PSB1" | uint32 header length | JSON | arrays
 * (8-byte aligned).
 * The page holds it gzip-compressed (inline as base64, or as a file of a static site) and
 * inflates it with the browser's own DecompressionStream: no library, no network.
 */

const TYPES = { u8: Uint8Array, i8: Int8Array, u16: Uint16Array, u32: Uint32Array,
  f32: Float32Array, f64: Float64Array };

/** base64 text -> bytes (natively where the browser can: Chromium 140+, Firefox 133+). */
export function fromBase64(text) {
  // both skip the line breaks the page wraps the text with
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** gzip bytes -> ArrayBuffer, through DecompressionStream (Chromium 80+, Firefox 113+). */
export async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

/** Sums a delta-coded array back (in place): each element plus the one k places before it
 * (the typed array wraps as the writer's integers did). */
function undelta(a, k) {
  for (let i = k; i < a.length; i++) a[i] += a[i - k];
  return a;
}

/** Bundle bytes -> {header, array(ref)}; array(ref) gives the typed array a reference names
 * (decoded once: a reference with "d" is stored as differences, see app/player/bundle.py). */
export function parseBundle(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== "PSB1") throw new Error("not a pelvic-spread bundle");
  const n = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const base = 8 + n;
  const decoded = new WeakMap();
  const array = (ref) => {
    if (!ref) return null;
    const T = TYPES[ref.t];
    const view = new T(buffer, base + ref.o, ref.n);
    if (!ref.d) return view;
    // a copy: the bytes stay as they came, whoever else parses the same buffer
    if (!decoded.has(ref)) decoded.set(ref, undelta(view.slice(), ref.d));
    return decoded.get(ref);
  };
  return { header, array };
}

/** gzip+base64 text (as the offline page holds it) -> parsed bundle. */
export async function decodeBundle(base64) {
  return parseBundle(await gunzip(fromBase64(base64)));
}

/** A parsed bundle from a URL (a static site's compressed asset). */
export async function fetchBundle(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  // a server that sends .gz with Content-Encoding: gzip has already inflated it
  const zipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  return parseBundle(zipped ? await gunzip(bytes) : bytes.buffer);
}
