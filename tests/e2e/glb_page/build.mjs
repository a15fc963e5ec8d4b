// Bundle src/page.js with three.js into page.bundle.js (committed; rebuild after an update):
//   npm ci && npm run build          (node build.mjs OUT.js writes elsewhere, for the test
//                                     that checks the committed bundle is built from src/)
import { build } from "esbuild";

await build({
  entryPoints: ["src/page.js"],
  bundle: true,
  format: "iife",
  minify: true,
  target: "es2020",
  outfile: process.argv[2] || "page.bundle.js",
  legalComments: "eof",
  logLevel: "warning",
});
