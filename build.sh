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

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

need_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if ((${#missing[@]})); then
    say "installing Debian packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Threads in wasm need the standard library rebuilt with atomics: nightly + rust-src (-Z build-std).
NIGHTLY=nightly

need_rust_wasm() {
  rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  command -v wasm-pack >/dev/null || { say "installing wasm-pack"; cargo install wasm-pack --locked; }
  if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1 ||
     ! rustup component list --toolchain "$NIGHTLY" --installed 2>/dev/null | grep -q rust-src; then
    say "installing the $NIGHTLY toolchain with rust-src (for the threaded build)"
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src --target wasm32-unknown-unknown
  fi
}

need_npm() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (playwright-core, serve-handler, binaryen)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

need_browsers() {
  need_apt chromium chromium-driver firefox-esr
  command -v geckodriver >/dev/null || { say "installing geckodriver"; cargo install geckodriver --locked; }
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

build() {
  need_rust_wasm
  need_npm
  say "building www/pkg (SIMD128 + relaxed SIMD, one thread; flags in .cargo/config.toml)"
  wasm-pack build --target web --release --out-dir www/pkg --no-typescript --no-pack
  wasm_opt www/pkg/siglip_lens_bg.wasm --enable-relaxed-simd
  say "building www/pkg-simd128 (plain SIMD128, for engines without relaxed SIMD)"
  RUSTFLAGS='-C target-feature=+simd128 --cfg getrandom_backend="wasm_js"' \
    wasm-pack build --target web --release --out-dir www/pkg-simd128 --no-typescript --no-pack
  wasm_opt www/pkg-simd128/siglip_lens_bg.wasm
  say "building www/pkg-threads (relaxed SIMD + atomics, rayon pool; nightly -Z build-std)"
  local link="-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296"
  link+=" -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"
  RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128,+relaxed-simd --cfg getrandom_backend=\"wasm_js\" $link" \
    rustup run "$NIGHTLY" wasm-pack build --target web --release --out-dir www/pkg-threads --no-typescript --no-pack \
    -- --features threads -Z build-std=panic_abort,std
  wasm_opt www/pkg-threads/siglip_lens_bg.wasm --enable-relaxed-simd --enable-threads
}

serve() {
  local port=${1:-8080}
  build
  say "serving www/ on http://127.0.0.1:$port/ (Ctrl-C stops)"
  exec node tools/serve.mjs "$port"
}

test_all() {
  need_rust_wasm
  need_browsers
  say "native tests"
  cargo test --release
  say "wasm tests in headless Chromium"
  wasm-pack test --release --headless --chrome --chromedriver /usr/bin/chromedriver -- --test web
  say "wasm tests in headless Firefox"
  wasm-pack test --release --headless --firefox --geckodriver "$(command -v geckodriver)" -- --test web
  if [ -d tests/e2e ] && ls tests/e2e/*.test.mjs >/dev/null 2>&1; then
    build
    say "page tests in headless Chromium"
    node --test tests/e2e/
  fi
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
