"""deploy/kubernetes (issue 15), offline: no cluster is reachable here.

- Every manifest validates against the Kubernetes API's OpenAPI schema (tools/k8s/validate.mjs:
  npm's kubernetes-models, pinned in tools/k8s/package-lock.json), and the validator is shown
  to reject: broken copies (completionMode misspelled, parallelism a string, an unknown kind,
  a kustomization naming a missing file) each fail, naming what is wrong.
- The manifests agree with each other: an Indexed Job with completions = parallelism = the
  --shards N of its args, --shard auto, each report named by $(JOB_COMPLETION_INDEX) on the
  volume the merge Job reads, every $(VAR) of the args set by the ConfigMap or the env.
- The shards' container args, exactly as written, with the ConfigMap's variables given the
  values a user would set (TARGET_URL: a ringload-target on 127.0.0.1, START_AT: a few
  seconds ahead, DURATION: 1s) and /reports a temporary directory, run the real ringload as
  N processes with JOB_COMPLETION_INDEX 0..N-1; the merge Job's command then merges their
  reports, and the merged report holds every shard's requests.

Run: python3 test_kubernetes.py --ringload PATH --target PATH
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import eq  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFESTS = os.path.join(REPO, "deploy", "kubernetes")
VALIDATOR = os.path.join(REPO, "tools", "k8s", "validate.mjs")
MODELS = os.path.join(REPO, "tools", "k8s", "node_modules", "kubernetes-models")
VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def validate(*paths, as_json=False):
    cmd = ["node", VALIDATOR] + (["--json"] if as_json else []) + list(paths)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def documents():
    r = validate(MANIFESTS, as_json=True)
    if r.returncode != 0:
        raise RuntimeError(f"validate.mjs --json: rc={r.returncode} {r.stdout[-800:]!r} {r.stderr[-800:]!r}")
    return json.loads(r.stdout)


def find(docs, kind, name):
    for d in docs:
        if d["doc"].get("kind") == kind and d["doc"].get("metadata", {}).get("name") == name:
            return d["doc"]
    raise RuntimeError(f"no {kind}/{name} under deploy/kubernetes")


def test_valid(checks):
    r = validate(MANIFESTS)
    lines = r.stdout.splitlines()
    checks.check("every manifest under deploy/kubernetes validates (exit 0)", r.returncode == 0,
                 f"rc={r.returncode} {r.stdout[-800:]!r} {r.stderr[-400:]!r}")
    n = sum(1 for root, _, files in os.walk(MANIFESTS) for f in files if f.endswith((".yaml", ".yml")))
    eq(checks, "one 'ok' line per manifest file", len([x for x in lines if x.startswith("ok ")]), n)


# (what, file, text to replace, replacement, what the validator must name)
BROKEN = [
    ("completionMode misspelled", "shards-job.yaml", "completionMode: Indexed", "completionMode: Indexd",
     "/spec/completionMode must be equal to one of the allowed values"),
    ("parallelism a string", "shards-job.yaml", "parallelism: 4", 'parallelism: "4"',
     "/spec/parallelism must be integer"),
    ("a container without a name", "shards-job.yaml", "- name: ringload\n", "- nom: ringload\n",
     "/spec/template/spec/containers/0 must have required property name"),
    ("an unknown kind", "reports-pvc.yaml", "kind: PersistentVolumeClaim", "kind: PersistentVolumeClam",
     "unknown apiVersion/kind v1/PersistentVolumeClam"),
    ("a kustomization naming a missing file", "kustomization.yaml", "- shards-job.yaml", "- shard-job.yaml",
     "resources: shard-job.yaml does not exist"),
]


def test_rejects(checks, env):
    for what, name, old, new, want in BROKEN:
        copy = os.path.join(env.tmp, "broken-" + re.sub(r"\W+", "-", what))
        shutil.copytree(MANIFESTS, copy)
        path = os.path.join(copy, name)
        with open(path) as f:
            text = f.read()
        if not checks.check(f"{what}: the copy is broken ({old!r} found)", old in text):
            continue
        with open(path, "w") as f:
            f.write(text.replace(old, new, 1))
        r = validate(copy)
        checks.check(f"{what}: the validator fails (exit 1) naming it ({want!r})",
                     r.returncode == 1 and want in r.stdout and f"FAIL {path}" in r.stdout,
                     f"rc={r.returncode} {r.stdout[-800:]!r} {r.stderr[-400:]!r}")


def shard_container(job):
    return job["spec"]["template"]["spec"]["containers"][0]


def test_consistent(checks):
    docs = documents()
    job = find(docs, "Job", "ringload-shards")
    merge_job = find(docs, "Job", "ringload-merge")
    config = find(docs, "ConfigMap", "ringload-run")
    spec = job["spec"]
    c = shard_container(job)
    args = c["args"]
    shards = int(args[args.index("--shards") + 1]) if "--shards" in args else None
    eq(checks, "an Indexed Job: completionMode, completions = parallelism = --shards N",
       (spec.get("completionMode"), spec.get("completions"), spec.get("parallelism")), ("Indexed", shards, shards))
    eq(checks, "the shards take --shard auto", args[args.index("--shard") + 1] if "--shard" in args else None, "auto")
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in job["spec"]["template"]["spec"]["volumes"]}
    out = args[args.index("-o") + 1] if "-o" in args else ""
    checks.check("each shard's report is named by its index, on the mounted volume",
                 "$(JOB_COMPLETION_INDEX)" in out and any(out.startswith(p + "/") for p in mounts.values()),
                 f"-o {out!r}, mounts {mounts}")
    mc = merge_job["spec"]["template"]["spec"]
    merge_claims = {v.get("persistentVolumeClaim", {}).get("claimName") for v in mc["volumes"]}
    eq(checks, "the merge Job mounts the shards' claim", merge_claims, set(volumes.values()))
    defined = set(config["data"]) | {e["name"] for e in c.get("env", [])}
    used = {v for a in args for v in VAR.findall(a)}
    eq(checks, "every $(VAR) in the args is the ConfigMap's or the container's env", sorted(used - defined), [])
    eq(checks, "the pods read the ConfigMap", [e.get("configMapRef", {}).get("name") for e in c.get("envFrom", [])],
       [config["metadata"]["name"]])
    checks.check("START_AT is RFC 3339 UTC", re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", config["data"]["START_AT"]),
                 config["data"]["START_AT"])


def expand(text, values):
    return VAR.sub(lambda m: values[m.group(1)], text)


def test_args_run(checks, env, target):
    docs = documents()
    job = find(docs, "Job", "ringload-shards")
    c = shard_container(job)
    n = job["spec"]["completions"]
    reports = os.path.join(env.tmp, "reports")
    os.makedirs(reports)
    mount = c["volumeMounts"][0]["mountPath"]
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=4)
    values = dict(find(docs, "ConfigMap", "ringload-run")["data"], TARGET_URL=target.url("/"),
                  START_AT=start.strftime("%Y-%m-%dT%H:%M:%SZ"), DURATION="1s")
    base_env = {k: v for k, v in os.environ.items() if k not in ("SLURM_PROCID", "SLURM_NTASKS")}
    procs = []
    for i in range(n):
        args = [expand(a, dict(values, JOB_COMPLETION_INDEX=str(i))).replace(mount + "/", reports + "/")
                for a in c["args"]]
        procs.append(subprocess.Popen([env.ringload] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True, env=dict(base_env, JOB_COMPLETION_INDEX=str(i))))
    for i, p in enumerate(procs):
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            h.stop_process(p)
            err = "killed after 60 s"
        checks.check(f"shard {i}: the manifest's args run (exit 0)", p.returncode == 0, f"rc={p.returncode} {err[-600:]!r}")
    total = 0
    for i in range(n):
        with open(os.path.join(reports, f"report-{i}.json")) as f:
            report = json.load(f)
        h.validate_report(report, f"the manifest's shard {i}")
        eq(checks, f"report-{i}.json says shard {i}/{n}", report["shard"], {"index": i, "count": n})
        total += report["requests"]["total"]
    merge = find(docs, "Job", "ringload-merge")["spec"]["template"]["spec"]["containers"][0]
    mount = merge["volumeMounts"][0]["mountPath"]
    script = " ".join(merge["args"]).replace(mount + "/", reports + "/")
    script = re.sub(r"\bringload\b", env.ringload, script, count=1)
    r = subprocess.run(merge["command"] + [script], capture_output=True, text=True, timeout=60)
    checks.check("the merge Job's command merges the reports (exit 0)", r.returncode == 0,
                 f"rc={r.returncode} {r.stderr[-600:]!r}")
    with open(os.path.join(reports, "all.json")) as f:
        merged = json.load(f)
    h.validate_report(merged, "the merge Job's all.json")
    eq(checks, "all.json: every shard, every request", (merged["shard"], merged["requests"]["total"]),
       ({"merged": n}, total))
    checks.check("the shards sent requests", total > 0, f"total {total}")


def setup(env):
    if shutil.which("node") is None or not os.path.isdir(MODELS):
        raise RuntimeError("node or tools/k8s/node_modules/kubernetes-models missing: run tools/setup.sh")
    target = env.start(h.Target(env.target, threads=1), started="ringload-target starts")
    return [("valid", test_valid), ("rejects", test_rejects, env), ("consistent", test_consistent),
            ("args run", test_args_run, env, target)]


if __name__ == "__main__":
    h.main(setup, title="kubernetes", tmp_prefix="ringload-k8s-", description=__doc__)
