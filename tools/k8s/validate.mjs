// Validates Kubernetes manifests offline against the Kubernetes API's OpenAPI schema, with
// npm's kubernetes-models (each model class carries the schema's validator: types, enums,
// required fields), pinned by tools/k8s/package-lock.json (tools/setup.sh: npm ci).
//
//   node tools/k8s/validate.mjs [--json] FILE_OR_DIR...
//
// Every YAML document of every file (a directory: its *.yaml and *.yml, its subdirectories'
// too, sorted) is checked: a document whose apiVersion/kind kubernetes-models does not know
// is an error, not a pass. A kustomization.yaml is not an API object: its `resources` must
// name files that exist (they are validated as files of their own). Prints one line per
// document ("ok FILE#N Kind/name" or "FAIL FILE#N Kind/name: /json/pointer message; ...");
// --json prints the documents instead, as [{file, index, doc}], once all passed. Exit
// status: 0 all valid, 1 a document failed, 2 usage (no file, a file that cannot be read
// or parsed).
//
// Not checked: fields the schema does not name (kubernetes-models accepts unknown keys;
// the API server's strict field validation would reject them).
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, dirname, basename } from "node:path";
import { parseAllDocuments } from "yaml";

const args = process.argv.slice(2);
const asJson = args[0] === "--json";
const inputs = asJson ? args.slice(1) : args;
if (inputs.length === 0) {
  console.error("usage: validate.mjs [--json] FILE_OR_DIR...");
  process.exit(2);
}

// A file, or a directory's *.yaml / *.yml and its subdirectories', sorted.
function filesOf(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((f) => {
    const p = join(path, f);
    if (statSync(p).isDirectory()) return filesOf(p);
    return f.endsWith(".yaml") || f.endsWith(".yml") ? [p] : [];
  });
}

// "batch/v1" + "Job" -> kubernetes-models/batch/v1/Job; "v1" -> kubernetes-models/v1/...
async function modelOf(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9]+$/.test(kind)) return null;
  if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) return null;
  try {
    const mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return mod[kind] ?? null;
  } catch {
    return null;
  }
}

function describe(e) {
  if (Array.isArray(e?.errors))
    return e.errors.map((x) => `${x.instancePath || "/"} ${x.message}${x.params?.allowedValues ? ` (${x.params.allowedValues.join(", ")})` : ""}`).join("; ");
  return String(e?.message ?? e);
}

function checkKustomization(file, doc) {
  const problems = [];
  for (const r of doc.resources ?? []) {
    if (typeof r !== "string") problems.push(`resources: ${JSON.stringify(r)} is not a path`);
    else if (!existsSync(join(dirname(file), r))) problems.push(`resources: ${r} does not exist`);
  }
  return problems;
}

let failed = 0;
const out = [];
for (const input of inputs) {
  let files;
  try {
    files = filesOf(input);
  } catch (e) {
    console.error(`error: ${input}: ${e.message}`);
    process.exit(2);
  }
  for (const file of files) {
    let docs;
    try {
      docs = parseAllDocuments(readFileSync(file, "utf8"));
    } catch (e) {
      console.error(`error: ${file}: ${e.message}`);
      process.exit(2);
    }
    for (const [i, d] of docs.entries()) {
      const where = `${file}#${i}`;
      if (d.errors.length) {
        console.error(`error: ${where}: YAML: ${d.errors.map((x) => x.message).join("; ")}`);
        process.exit(2);
      }
      const doc = d.toJS();
      if (doc === null || doc === undefined) continue;
      const what = `${doc.kind}/${doc.metadata?.name ?? "(no name)"}`;
      let problem = null;
      if (basename(file).startsWith("kustomization.") || doc.kind === "Kustomization") {
        const p = checkKustomization(file, doc);
        if (p.length) problem = p.join("; ");
      } else {
        const Model = await modelOf(doc.apiVersion, doc.kind);
        if (!Model) problem = `unknown apiVersion/kind ${doc.apiVersion}/${doc.kind}`;
        else {
          try {
            new Model(doc).validate();
          } catch (e) {
            problem = describe(e);
          }
        }
      }
      if (problem) {
        failed++;
        console.log(`FAIL ${where} ${what}: ${problem}`);
      } else {
        if (!asJson) console.log(`ok ${where} ${what}`);
        out.push({ file, index: i, doc });
      }
    }
  }
}
if (asJson && failed === 0) console.log(JSON.stringify(out));
process.exit(failed ? 1 : 0);
