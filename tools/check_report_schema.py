#!/usr/bin/python3
"""The report's three descriptions agree: the JSON Schema (include/ringload/report.schema.json),
the key-by-key listing in include/ringload/report.hpp and the README's "JSON report" section.

- the schema is a valid draft 2020-12 schema, versioned with the project (CMakeLists.txt's
  VERSION ends its $id and is ringload_version's const);
- its top-level keys are the listing's top-level keys, and each is named (`key`) in the README;
- every key anywhere in the schema is quoted in the listing, and every key the listing quotes
  is in the schema (placeholders such as "kind" aside);
- every key the README names is in the schema.

Run: /usr/bin/python3 tools/check_report_schema.py [REPO]   (a CTest test; exit 1 on a mismatch)
"""
import json
import os
import re
import sys

# The listing's placeholders for keys that vary ("kind": "message", "label": n, close codes
# and their "other"): not keys of the schema.
PLACEHOLDERS = {"kind", "message", "label", "key", "200", "1000", "other"}
WORD = re.compile(r"^[a-z][a-z0-9_]*$")


def schema_keys(node, out):
    """Every property name under `node`, at any depth."""
    if isinstance(node, dict):
        for key, sub in (node.get("properties") or {}).items():
            out.add(key)
            schema_keys(sub, out)
        for key, sub in node.items():
            if key != "properties":
                schema_keys(sub, out)
    elif isinstance(node, list):
        for sub in node:
            schema_keys(sub, out)
    return out


def listing(header_text):
    """The schema comment of report.hpp: its lines from "// {" to "// }", without the "//"."""
    lines = header_text.splitlines()
    start = lines.index("// {")
    end = lines.index("// }", start)
    return [line[2:] for line in lines[start + 1:end]]


def listing_top_keys(lines):
    """Keys opened at the document's first level: a quoted word followed by ':' outside braces."""
    keys = set()
    for line in lines:
        if not line.startswith('   "'):
            continue
        depth = 0
        for m in re.finditer(r'[{}\[\]]|"([^"]*)"(:?)', line):
            tok = m.group(0)
            if tok in "{[":
                depth += 1
            elif tok in "}]":
                depth -= 1
            elif depth == 0 and m.group(2):
                keys.add(m.group(1))
    return keys


def readme_section(text):
    start = text.index("## JSON report\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def main(repo):
    problems = []
    with open(os.path.join(repo, "include/ringload/report.schema.json")) as f:
        schema = json.load(f)
    try:
        import jsonschema
        jsonschema.Draft202012Validator.check_schema(schema)
    except ImportError:
        problems.append("python3-jsonschema is not installed (tools/setup.sh)")
    except jsonschema.SchemaError as e:
        problems.append(f"not a valid draft 2020-12 schema: {e.message} at {list(e.absolute_path)}")

    with open(os.path.join(repo, "CMakeLists.txt")) as f:
        version = re.search(r"project\(ringload VERSION ([0-9.]+)", f.read()).group(1)
    if not schema.get("$id", "").endswith(":" + version) and not schema.get("$id", "").endswith("/" + version):
        problems.append(f"$id {schema.get('$id')!r} does not end in the project's version {version}")
    const = schema["properties"]["ringload_version"].get("const")
    if const != version:
        problems.append(f"ringload_version's const is {const!r}, the project's version is {version}")

    top = set(schema["properties"])
    if set(schema.get("required", [])) != top or schema.get("additionalProperties") is not False:
        problems.append("the top level must require every key and allow no other")
    everywhere = schema_keys(schema, set())

    with open(os.path.join(repo, "include/ringload/report.hpp")) as f:
        lines = listing(f.read())
    listed_top = listing_top_keys(lines)
    for key in sorted(top - listed_top):
        problems.append(f"report.hpp's listing lacks the top-level key {key!r}")
    for key in sorted(listed_top - top):
        problems.append(f"report.hpp lists the top-level key {key!r}, the schema has no such key")
    quoted = {w for line in lines for w in re.findall(r'"([^"]*)"', line)}
    for key in sorted(everywhere - quoted):
        problems.append(f"report.hpp's listing never names the schema's key {key!r}")
    for word in sorted(w for w in quoted - everywhere - PLACEHOLDERS if WORD.match(w)):
        problems.append(f"report.hpp's listing names {word!r}, which is no key of the schema")

    with open(os.path.join(repo, "README.md")) as f:
        section = readme_section(f.read())
    named = set(re.findall(r"`([^`\s]+)`", section))
    for key in sorted(top - named):
        problems.append(f"README's JSON report section does not name `{key}`")
    for word in sorted(w for w in named if WORD.match(w) and w not in everywhere):
        problems.append(f"README's JSON report section names `{word}`, which is no key of the schema")

    for p in problems:
        print(f"FAIL {p}")
    print(f"report schema: {len(top)} top-level keys, {len(everywhere)} in all; "
          f"{len(problems)} problems", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")))
