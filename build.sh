#!/usr/bin/env bash
# siglip-lens: the one entry point. Installs what is missing (never a browser or toolchain of its own),
# then builds, serves, tests or benchmarks.
#
#   ./build.sh build          wasm modules (release, wasm-opt): www/pkg (relaxed SIMD, one thread),
#                             www/pkg-threads (relaxed SIMD + threads), www/pkg-simd128 (fallback)
#   ./build.sh serve [PORT]   build, then serve www/ on http://127.0.0.1:PORT (default 8080)
#   ./build.sh test           native tests, wasm tests in headless Chromium and Firefox, page tests
#   ./build.sh bench          ours vs onnxruntime-web in headless Chromium (bench/out/results.md)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

# Each step starts with the time since build.sh started, so that a run shows what took how long.
say() { printf '\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

WASM=wasm32-unknown-unknown
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# Threads in wasm need the standard library rebuilt with atomics: nightly + rust-src (-Z build-std).
# The nightly is pinned by date in rust-nightly.txt, the one place that names it (the fuzzers use it too).
NIGHTLY=$(<rust-nightly.txt)
# The wasm-bindgen CLI (JS glue, and the test runner) must be the version of the crate in Cargo.lock.
BINDGEN_VERSION=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

# apt-get that waits for a running apt or dpkg (a system job, say) instead of failing on its lock.
apt_get() {
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 "$@"
}

# `apt-get update` takes the lock on its lists (/var/lib/apt/lists/lock), which DPkg::Lock::Timeout
# does not cover: retry while another apt holds it (up to 15 minutes), fail at once on anything else.
apt_update() {
  local out try
  for try in $(seq 90); do
    if out=$(apt_get update -qq 2>&1); then return 0; fi
    if ! grep -q 'Could not get lock\|Unable to lock' <<<"$out" || [ "$try" = 90 ]; then
      echo "$out" >&2
      return 1
    fi
    [ "$try" = 1 ] && say "another apt is running; waiting for it to finish"
    sleep 10
  done
}

need_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if ((${#missing[@]})); then
    say "installing Debian packages: ${missing[*]}"
    apt_update
    apt_get install -y -qq "${missing[@]}" >/dev/null
  fi
}

need_bindgen() {
  rustup target list --installed | grep -qx "$WASM" || rustup target add "$WASM"
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $BINDGEN_VERSION (wasm-bindgen and wasm-bindgen-test-runner, as in Cargo.lock)"
    cargo install wasm-bindgen-cli --version "=$BINDGEN_VERSION"
  fi
}

need_nightly() {
  if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1 ||
     ! rustup component list --toolchain "$NIGHTLY" --installed 2>/dev/null | grep -q rust-src; then
    say "installing the $NIGHTLY toolchain with rust-src (for the threaded build)"
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src --target "$WASM"
  fi
}

need_npm() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (playwright-core, serve-handler, binaryen)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# geckodriver only relays WebDriver commands to Firefox: a debug build does that as well as a release
# build and compiles in about half the time.
need_geckodriver() {
  command -v geckodriver >/dev/null || { say "installing geckodriver"; cargo install geckodriver --locked --debug; }
}

# What the tests need. The downloads (Debian's browsers, the nightly, npm packages) go on in the
# background while cargo compiles wasm-bindgen-cli and geckodriver; on a warm machine both are no-ops.
need_test_tools() {
  local log status=0 downloads
  rustup target list --installed | grep -qx "$WASM" || rustup target add "$WASM"
  log=$(mktemp)
  (
    need_apt chromium chromium-driver firefox-esr
    need_nightly
    need_npm
  ) >"$log" 2>&1 &
  downloads=$!
  need_bindgen
  need_geckodriver
  wait "$downloads" || status=$?
  cat "$log"
  rm -f "$log"
  [ "$status" = 0 ] || { echo "installing Debian packages, $NIGHTLY or npm packages failed (see above)" >&2; exit 1; }
}

# wasm_opt FILE [FEATURES...]: optimise in place with binaryen (npm's, which knows every feature we use).
wasm_opt() {
  local wasm=$1; shift
  wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue "$@" "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
  local simd raw gz
  simd=$(wasm-dis "$wasm" | grep -c 'f32x4\.' || true)
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  say "$wasm: $(numfmt --to=iec "$raw") raw, $(numfmt --to=iec "$gz") gzip, $simd f32x4 instructions"
  [ "$simd" -gt 0 ] || { echo "no f32x4 instructions in $wasm: SIMD128 is not on" >&2; exit 1; }
}

# web_build OUT "WASM-OPT FLAGS" [CARGO BUILD ARGS...]: builds the crate for the web (release), then
# wasm-bindgen's JS glue and module in OUT (siglip_lens.js, siglip_lens_bg.wasm), optimised by wasm-opt.
# OUT is kept when it was made from the same cargo output with the same build.sh and npm packages
# (a warm rerun then skips wasm-bindgen and wasm-opt, the minutes of it).
web_build() {
  local out=$1 opt=$2; shift 2
  cargo build --lib --release --target "$WASM" "$@"
  local wasm="$TARGET_DIR/$WASM/release/siglip_lens.wasm" stamps="$TARGET_DIR/web-stamps" stamp
  stamp=$({ cat "$wasm" build.sh package-lock.json; echo "$BINDGEN_VERSION"; } | sha256sum | cut -d' ' -f1)
  mkdir -p "$stamps"
  if [ -f "$out/siglip_lens_bg.wasm" ] && [ "$(cat "$stamps/${out//\//-}" 2>/dev/null)" = "$stamp" ]; then
    say "$out is up to date"
    return
  fi
  rm -f "$stamps/${out//\//-}"
  wasm-bindgen --target web --no-typescript --out-dir "$out" "$wasm"
  # shellcheck disable=SC2086 # $opt holds several flags
  wasm_opt "$out/siglip_lens_bg.wasm" $opt
  echo "$stamp" >"$stamps/${out//\//-}"
}

build() {
  need_bindgen
  need_nightly
  need_npm
  say "building www/pkg (SIMD128 + relaxed SIMD, one thread; flags in .cargo/config.toml)"
  web_build www/pkg --enable-relaxed-simd
  say "building www/pkg-simd128 (plain SIMD128, for engines without relaxed SIMD)"
  RUSTFLAGS='-C target-feature=+simd128 --cfg getrandom_backend="wasm_js"' web_build www/pkg-simd128 ""
  say "building www/pkg-threads (relaxed SIMD + atomics, rayon pool; $NIGHTLY -Z build-std)"
  local link="-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296"
  link+=" -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"
  RUSTUP_TOOLCHAIN=$NIGHTLY RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128,+relaxed-simd --cfg getrandom_backend=\"wasm_js\" $link" \
    web_build www/pkg-threads "--enable-relaxed-simd --enable-threads" --features threads -Z build-std=panic_abort,std
}

serve() {
  local port=${1:-8080}
  build
  say "serving www/ on http://127.0.0.1:$port/ (Ctrl-C stops)"
  exec node tools/serve.mjs "$port"
}

# wasm_tests DRIVER=PATH: tests/web.rs in the headless browser that DRIVER (CHROMEDRIVER or
# GECKODRIVER) drives, through wasm-bindgen-test-runner; webdriver.json holds the browsers' options.
wasm_tests() {
  env "$1" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner WASM_BINDGEN_TEST_ONLY_WEB=1 \
    cargo test --release --target "$WASM" --test web
}

test_all() {
  # Every page test file, named one by one: `node --test DIR` runs DIR's tests on Node 20 and 26 but
  # fails on 22 and 24, which take a folder for a file. No page test is a failure, not a skip.
  local page_tests=(tests/e2e/*.test.mjs)
  [ -f "${page_tests[0]}" ] || { echo "no page tests: tests/e2e/*.test.mjs matches nothing" >&2; exit 1; }
  need_test_tools
  say "native tests"
  cargo test --profile fast-test
  say "native GEMM tests with the threads feature (the pool's path, as pkg-threads runs it)"
  cargo test --profile fast-test --features threads --lib gemm
  say "wasm tests in headless Chromium"
  wasm_tests CHROMEDRIVER=/usr/bin/chromedriver
  say "wasm tests in headless Firefox"
  wasm_tests GECKODRIVER="$(command -v geckodriver)"
  build
  say "page tests in headless Chromium"
  node --test "${page_tests[@]}"
  say "all tests passed"
}

bench() {
  build
  need_apt chromium
  [ -d bench/node_modules/onnxruntime-web ] || (cd bench && npm ci --no-audit --no-fund --loglevel=error)
  local out=tools/out/base224
  if [ ! -f "$out/vision.onnx" ]; then
    say "making the base-224 checkpoint and its ONNX export (torch + transformers in tools/.venv; minutes)"
    [ -x tools/.venv/bin/python ] || { python3 -m venv tools/.venv && tools/.venv/bin/pip install -q -r tools/requirements.txt; }
    tools/.venv/bin/python tools/make_fixtures.py --base224 "$ROOT/$out"
    tools/.venv/bin/python tools/export_onnx.py "$out"
  fi
  node bench/run.mjs "$@"
}

case "${1:-}" in
  build) build ;;
  serve) shift; serve "$@" ;;
  test) test_all ;;
  bench) shift; bench "$@" ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
