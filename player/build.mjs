// Builds app/player/static/player.js and player.css from src/ (node build.mjs).
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";

const out = new URL("../app/player/static/", import.meta.url).pathname;
const result = await build({
  entryPoints: ["src/index.js"],
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "PelvicSpread",
  target: ["chrome100", "firefox113", "safari16.4"],
  legalComments: "none",
  outfile: `${out}player.js`,
  metafile: true,
  logLevel: "info",
});
// the offline page inlines the script: no "</script" may appear in it
const js = readFileSync(`${out}player.js`, "utf8").replaceAll("</script", "<\\/script");
writeFileSync(`${out}player.js`, js);
writeFileSync(`${out}player.css`, readFileSync("src/page.css", "utf8"));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`player.js: ${(bytes / 1024).toFixed(0)} KiB`);
