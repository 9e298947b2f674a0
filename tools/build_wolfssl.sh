#!/usr/bin/env bash
# Builds wolfSSL from Debian's own source package (the version installed, 5.5.4) with
# AES-NI and the x86-64 assembly into third_party/wolfssl-install (static library).
# Debian's libwolfssl is portable C: AES-128-GCM runs at ~130 MB/s there against GB/s
# here, which would make ringload, not the server, the bottleneck of an https run.
# cmake/wolfssl.cmake picks this build up when present; delete third_party/ to go back to
# the system library.
#
# Idempotent: exits at once when the install exists and was made with the same source
# version and flags (third_party/wolfssl-install/.ringload-stamp). Needs root (or sudo)
# for apt. Usage: tools/build_wolfssl.sh [--force]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${RINGLOAD_WOLFSSL_PREFIX:-$repo/third_party/wolfssl-install}"
stamp="$prefix/.ringload-stamp"
force=0
[ "${1:-}" = "--force" ] && force=1

# Debian builds with --enable-distro (nearly everything, no assembly). This is the subset
# ringload uses: TLS 1.3, SNI, ALPN, tickets, the OpenSSL compatibility layer, the system
# CA store, SHA-1 and Base64 for the WebSocket accept key (RFC 6455 section 4.2.2), IP
# subjectAltNames (https://127.0.0.1 verified; distro gets them from OPENSSL_ALL), plus
# the assembly. --with-pic: Debian's g++ links position-independent executables, and the
# static archive goes into them and into libringload.so (cmake/package.cmake). The stamp
# holds these flags, so an install made without one of them is rebuilt.
configure_flags=(
  --enable-aesni --enable-intelasm --enable-sp-asm --enable-sp
  --enable-tls13 --enable-sni --enable-alpn --enable-session-ticket
  --enable-extended-master --enable-curve25519 --enable-ed25519
  --enable-opensslextra --enable-sys-ca-certs --enable-base64encode --enable-sha
  --enable-ip-alt-name
  --enable-static --disable-shared --with-pic
  --disable-examples --disable-crypttests
)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

version="$(dpkg-query -W -f='${Version}' libwolfssl-dev 2>/dev/null || true)"
if [ -z "$version" ]; then
  echo "build_wolfssl: libwolfssl-dev is not installed (tools/setup.sh installs it)" >&2
  exit 1
fi
want_stamp="wolfssl $version; ${configure_flags[*]}"
if [ $force -eq 0 ] && [ -f "$prefix/lib/libwolfssl.a" ] && [ -f "$stamp" ] &&
   [ "$(cat "$stamp")" = "$want_stamp" ]; then
  echo "build_wolfssl: $prefix is up to date (wolfssl $version)"
  exit 0
fi

t0=$(date +%s)
export DEBIAN_FRONTEND=noninteractive

# apt-get source needs deb-src entries. Mirror every enabled Debian `deb` entry (deb822
# stanzas in sources.list.d/*.sources, one-line entries in sources.list) with the same
# URIs, suites and Signed-By, into one file of our own.
src_list=/etc/apt/sources.list.d/ringload-deb-src.sources
if ! apt-get source --print-uris wolfssl >/dev/null 2>&1; then
  tmp_list="$(mktemp)"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    [ "$f" = "$src_list" ] && continue
    # One stanza per blank-line-separated block; keep those of type deb on a bookworm suite.
    awk -v RS= -v ORS='\n\n' '
      /(^|\n)Types:[^\n]*deb([ \n]|$)/ && /(^|\n)Suites:[^\n]*bookworm/ {
        out = ""
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++) {
          if (lines[i] ~ /^#/) continue
          if (lines[i] ~ /^Types:/) lines[i] = "Types: deb-src"
          out = out lines[i] "\n"
        }
        printf "%s\n", out
      }' "$f" >>"$tmp_list"
  done
  if [ -f /etc/apt/sources.list ]; then
    # "deb [opts] uri suite comp..." -> deb822, keeping a signed-by option when present.
    grep -E '^[[:space:]]*deb[[:space:]].*bookworm' /etc/apt/sources.list | while read -r line; do
      rest="${line#deb }"
      signed=""
      if [[ "$rest" =~ ^\[([^]]*)\][[:space:]]*(.*)$ ]]; then
        opts="${BASH_REMATCH[1]}"
        rest="${BASH_REMATCH[2]}"
        [[ "$opts" =~ signed-by=([^[:space:]]+) ]] && signed="${BASH_REMATCH[1]}"
      fi
      read -r uri suite comps <<<"$rest"
      {
        echo "Types: deb-src"
        echo "URIs: $uri"
        echo "Suites: $suite"
        echo "Components: $comps"
        [ -n "$signed" ] && echo "Signed-By: $signed"
        echo
      } >>"$tmp_list"
    done
  fi
  if ! grep -q '^Types: deb-src' "$tmp_list"; then
    echo "build_wolfssl: found no bookworm deb entry to mirror as deb-src" >&2
    rm -f "$tmp_list"
    exit 1
  fi
  echo "build_wolfssl: adding $src_list"
  $sudo install -m 0644 "$tmp_list" "$src_list"
  rm -f "$tmp_list"
  $sudo apt-get update -qq
fi

need=()
for p in autoconf automake libtool dpkg-dev make gcc; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "build_wolfssl: installing ${need[*]}"
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
# The installed version exactly, so headers and behaviour match the -dev package.
apt-get source -qq "wolfssl=$version" >/dev/null 2>&1 || apt-get source -qq wolfssl >/dev/null
src="$(find . -maxdepth 1 -type d -name 'wolfssl-*' | head -n1)"
[ -n "$src" ] || { echo "build_wolfssl: apt-get source produced no wolfssl-* directory" >&2; exit 1; }
cd "$src"
t1=$(date +%s)
echo "build_wolfssl: source $(basename "$src") ($version) fetched in $((t1 - t0)) s; configuring"

./autogen.sh >autogen.log 2>&1 || { tail -n 30 autogen.log >&2; exit 1; }
# Only ever delete a previous install of ours, never a prefix someone pointed elsewhere.
if [ -e "$prefix" ]; then
  if [ -f "$stamp" ] || [ "$prefix" = "$repo/third_party/wolfssl-install" ]; then
    rm -rf "$prefix"
  else
    echo "build_wolfssl: $prefix exists and is not a previous build of this script" >&2
    exit 1
  fi
fi
./configure "${configure_flags[@]}" --prefix="$prefix" >configure.log 2>&1 ||
  { tail -n 30 configure.log >&2; exit 1; }
make -j"$(nproc)" >make.log 2>&1 || { tail -n 40 make.log >&2; exit 1; }
make install >install.log 2>&1 || { tail -n 20 install.log >&2; exit 1; }
# make install copies the options.h configure generated: the feature macros of this very
# archive. Check it is the one (a stale or system options.h would silently change struct
# layouts).
grep -q 'WOLFSSL_AESNI' "$prefix/include/wolfssl/options.h" ||
  { echo "build_wolfssl: installed options.h lacks WOLFSSL_AESNI" >&2; exit 1; }
# Position-independent throughout, the assembly included: an absolute 32-bit relocation
# in code or data (debug sections have them legitimately) would fail the link of
# libringload.so.
if ! readelf -rW "$prefix/lib/libwolfssl.a" |
   awk '/^Relocation section/ { debug = ($3 ~ /debug/) } !debug && / R_X86_64_32S? / { n++ } END { exit n > 0 }'; then
  echo "build_wolfssl: $prefix/lib/libwolfssl.a has absolute relocations (not PIC)" >&2
  exit 1
fi
t2=$(date +%s)
echo "build_wolfssl: built and installed into $prefix in $((t2 - t1)) s"

# Check the point of the exercise: AES-128-GCM speed, fast build against the system one.
bench_src="$repo/bench/aes_gcm_speed.cpp"
g++ -O2 -std=c++23 -I"$prefix/include" "$bench_src" "$prefix/lib/libwolfssl.a" -lm -lpthread \
  -o "$work/aes_fast"
g++ -O2 -std=c++23 "$bench_src" $(pkg-config --cflags --libs wolfssl) -o "$work/aes_system"
echo "build_wolfssl: fast build:   $("$work/aes_fast" 1)"
echo "build_wolfssl: system build: $("$work/aes_system" 1)"

echo "$want_stamp" >"$stamp"
echo "build_wolfssl: done in $(($(date +%s) - t0)) s"
