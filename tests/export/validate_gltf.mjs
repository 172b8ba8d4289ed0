// Validate a .glb with the Khronos glTF-Validator (npm gltf-validator from the repo's node_modules).
// Usage: node validate_gltf.mjs FILE.glb  ->  prints the validator's report as JSON on stdout.
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const path = process.argv[2];
const report = await validator.validateBytes(new Uint8Array(await readFile(path)), {
  uri: path,
  maxIssues: 100,
  externalResourceFunction: () => Promise.reject(new Error("a .glb must not reference external files")),
});
process.stdout.write(JSON.stringify(report, null, 1));
