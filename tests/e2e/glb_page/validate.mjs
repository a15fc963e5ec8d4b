// Validate a GLB with the Khronos glTF validator; print its report as JSON on stdout.
// usage: node validate.mjs FILE.glb   (exit 0 when it has no errors, 1 when it has, 2 on misuse)
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs FILE.glb");
  process.exit(2);
}
const bytes = new Uint8Array(await readFile(path));
const report = await validator.validateBytes(bytes, {
  uri: path,
  maxIssues: 0, // report every issue
  externalResourceFunction: (uri) => Promise.reject(new Error(`no external resources: ${uri}`)),
});
console.log(JSON.stringify(report));
process.exit(report.issues.numErrors > 0 ? 1 : 0);
