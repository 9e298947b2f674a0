#!/usr/bin/env node
// Decodes every histogram of a ringload report with npm's hdr-histogram-js (an
// implementation independent of ringload's encoder) and prints, per histogram block (the
// objects with an `hdr` key, named by their path: "latency_us", "by_name.0.latency_us"),
// its total count, min (HdrHistogram's getMinValue), the percentiles p50 ... p99_99 and max (nanoseconds, HdrHistogram's
// getValueAtPercentile) and its non-empty buckets as [lowest equivalent value, count].
//
//   node tools/hdr/decode_hdr.js REPORT.json [--record VALUES.json]
//
// --record: VALUES.json is {"name": [ns, ...]}; each list is recorded into a fresh
// hdr-histogram-js histogram of ringload's layout (1 ns to 2^37 - 1 ns, 3 digits) and
// printed the same way under "recorded", to compare a decoded histogram with raw values.
// Output: one JSON document {"histograms": {...}, "recorded": {...}} on stdout.
// Install: `npm ci` in tools/hdr (tools/setup.sh does it), from package-lock.json.
"use strict";
const fs = require("fs");
const path = require("path");
const hdr = require(path.join(__dirname, "node_modules", "hdr-histogram-js"));

const PERCENTILES = [["p50", 50], ["p75", 75], ["p90", 90], ["p95", 95], ["p99", 99],
                     ["p99_9", 99.9], ["p99_99", 99.99]];

function describe(h) {
  // min as Java's getMinValue: 0 when a zero was recorded.
  const min = h.totalCount === 0 || h.getCountAtIndex(0) > 0 ? 0 : h.minNonZeroValue;
  const out = { count: h.totalCount, min };
  for (const [key, p] of PERCENTILES) out[key] = h.getValueAtPercentile(p);
  out.max = h.getValueAtPercentile(100);
  out.buckets = [];
  for (let i = 0; i < h.countsArrayLength; i++) {
    const c = h.getCountAtIndex(i);
    if (c !== 0) out.buckets.push([h.lowestEquivalentValue(h.valueFromIndex(i)), c]);
  }
  out.layout = { lowest: h.lowestDiscernibleValue, highest: h.highestTrackableValue,
                 digits: h.numberOfSignificantValueDigits };
  return out;
}

// Every object with a string `hdr`, depth first, keyed by its path.
function walk(node, where, found) {
  if (Array.isArray(node)) {
    node.forEach((v, i) => walk(v, where.concat(String(i)), found));
  } else if (node !== null && typeof node === "object") {
    if (typeof node.hdr === "string") found[where.join(".")] = node.hdr;
    for (const [k, v] of Object.entries(node)) walk(v, where.concat(k), found);
  }
  return found;
}

function main(argv) {
  if (argv.length < 1) {
    process.stderr.write("usage: decode_hdr.js REPORT.json [--record VALUES.json]\n");
    return 2;
  }
  const report = JSON.parse(fs.readFileSync(argv[0], "utf8"));
  const result = { histograms: {}, recorded: {} };
  for (const [name, text] of Object.entries(walk(report, [], {}))) {
    // 64-bit counts (Float64Histogram), as ringload's are.
    result.histograms[name] = describe(hdr.decodeFromCompressedBase64(text, 64));
  }
  const at = argv.indexOf("--record");
  if (at >= 0) {
    const lists = JSON.parse(fs.readFileSync(argv[at + 1], "utf8"));
    for (const [name, values] of Object.entries(lists)) {
      const h = hdr.build({ bitBucketSize: 64, autoResize: false, lowestDiscernibleValue: 1,
                            highestTrackableValue: 2 ** 37 - 1, numberOfSignificantValueDigits: 3 });
      for (const v of values) h.recordValue(v);
      result.recorded[name] = describe(h);
    }
  }
  process.stdout.write(JSON.stringify(result) + "\n");
  return 0;
}

process.exitCode = main(process.argv.slice(2));
