// Validate glTF/GLB files with the Khronos glTF Validator and print one JSON report per file.
// Usage: node validate_gltf.mjs VALIDATOR_DIR FILE...
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const [validatorDir, ...files] = process.argv.slice(2);
const validator = createRequire(validatorDir + "/")("gltf-validator");
const reports = [];
for (const file of files) {
  const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), { maxIssues: 100 });
  reports.push({ file, ...report });
}
console.log(JSON.stringify(reports));
