#!/usr/bin/env bash
# Installs what ringload needs to build, test and benchmark on Debian 12. Idempotent:
# packages already present are not fetched again. Needs root (or sudo).
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  liburing-dev libwolfssl-dev libcli11-dev catch2 nlohmann-json3-dev libsimdjson-dev
  zlib1g-dev                           # deflate for the report's HdrHistogram encoding
  nodejs                               # tools/hdr: the tests' independent HdrHistogram decoder
  clang-16 libclang-rt-16-dev        # libFuzzer targets (clang 16: libstdc++ 12's <expected>)
  nginx wrk time curl openssl python3  # integration tests and benchmarks
  python3-aiohttp python3-websockets   # SSE and WebSocket peers in the integration tests
  python3-jsonschema                   # every report the tests produce is validated (report.schema.json)
  python3-dev pybind11-dev             # the Python module and the Python hooks plugin (python/)
  python3-h2                           # the misbehaving HTTP/2 peer (tests/integration/h2_peers.py)
  nghttp2-client                       # h2load and nghttp: bench/h2_vs_h2load.py, checks of the h2 peer
  libnghttp2-dev                       # HTTP/2 (--h2c, --http2): framing, HPACK, flow control
  slurm-wlm munge                      # tests/integration/test_slurm.py: a one-node cluster it starts
                                       # itself (installing starts no daemon here: no systemd)
  libjs-chart.js                       # the HTML report's charts: Chart.js 3.9.1, inlined at build time
  chromium python3-pil                 # tests/integration/test_html_report.py: a headless browser looks at it
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# wolfSSL with AES-NI, from Debian's own source package (Debian's binary lacks it and
# would make every HTTPS byte ~25x dearer). Skipped when already built.
"$(dirname "$0")/build_wolfssl.sh"

# npm's hdr-histogram-js for the tests (tools/hdr/decode_hdr.js decodes the reports'
# histograms independently of ringload), pinned by tools/hdr/package-lock.json; the build
# itself downloads nothing. npm comes with the nodejs package from nodesource, else Debian's.
if ! command -v npm >/dev/null; then
  $sudo apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
npm ci --prefix "$(dirname "$0")/hdr" --no-audit --no-fund --loglevel=error
# npm's kubernetes-models and yaml: tools/k8s/validate.mjs checks deploy/kubernetes against
# the Kubernetes API's schema offline (tests/integration/test_kubernetes.py), pinned by
# tools/k8s/package-lock.json.
npm ci --prefix "$(dirname "$0")/k8s" --no-audit --no-fund --loglevel=error
