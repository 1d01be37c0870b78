#!/usr/bin/env bash
# siglip-lens: the one entry point. Installs what is missing (never a browser or toolchain of its own),
# then builds, serves, tests or benchmarks.
#
#   ./build.sh build          wasm module (+simd128, release, wasm-opt) into www/pkg
#   ./build.sh serve [PORT]   build, then serve www/ on http://127.0.0.1:PORT (default 8080)
#   ./build.sh test           native tests, wasm tests in headless Chromium and Firefox, page tests
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

need_rust_wasm() {
  rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  command -v wasm-pack >/dev/null || { say "installing wasm-pack"; cargo install wasm-pack --locked; }
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

build() {
  need_rust_wasm
  need_npm
  say "building the wasm module (+simd128, release)"
  wasm-pack build --target web --release --out-dir www/pkg --no-typescript --no-pack
  local wasm=www/pkg/siglip_lens_bg.wasm
  say "wasm-opt -O3"
  wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
  local simd raw gz
  simd=$(wasm-dis "$wasm" | grep -c 'f32x4\.' || true)
  raw=$(stat -c %s "$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  say "www/pkg ready: $(numfmt --to=iec "$raw") raw, $(numfmt --to=iec "$gz") gzip, $simd f32x4 instructions"
  [ "$simd" -gt 0 ] || { echo "no f32x4 instructions: SIMD128 is not on" >&2; exit 1; }
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

case "${1:-}" in
  build) build ;;
  serve) shift; serve "$@" ;;
  test) test_all ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
