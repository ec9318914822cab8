#!/usr/bin/env bash
# Builds the native TensorFlow backend (@tensorflow/tfjs-node) on a machine WITHOUT internet,
# from the TensorFlow 2.21 CPU wheel that the local pip index provides. Run from the repo root
# after `npm ci`. Idempotent: does nothing when `require('@tensorflow/tfjs-node')` already loads.
#
# Why: tfjs-node's own install script downloads libtensorflow and a prebuilt addon from the
# internet. The pip wheel ships the same C API (libtensorflow_cc.so.2 exports every TF_*/TFE_*
# function the addon calls), so we link the addon against it and build it from source.
#
# Env: PLUMAGE_TF_WHEEL_DIR  folder holding (or receiving) tensorflow_cpu-2.21.0-*.whl
#                            (default: ~/.cache/plumage/tfwheel)
set -euo pipefail
export LC_ALL=C

TFJS_NODE_VERSION=4.22.0
TF_WHEEL_SPEC=tensorflow-cpu==2.21.0
PKG=node_modules/@tensorflow/tfjs-node
GPU_PKG=node_modules/@tensorflow/tfjs-node-gpu

fail() { echo "native-offline: $*" >&2; exit 1; }
say() { echo "native-offline: $*"; }

[ -f package.json ] && [ -d node_modules ] || fail "run from the repository root after 'npm ci'"
for tool in pip unzip nm g++ make python3; do
  command -v "$tool" >/dev/null || fail "$tool is needed to build the native backend offline"
done

# Loads the package and checks a 2x3 . 3x2 matMul; prints one line, or the error on failure.
smoke_test() {
  TF_CPP_MIN_LOG_LEVEL=2 node -e "
    const tf = require('@tensorflow/tfjs-node');
    const y = tf.matMul(tf.tensor2d([[1, 2, 3], [4, 5, 6]]), tf.tensor2d([[1, 0], [0, 1], [1, 1]]));
    const got = Array.from(y.dataSync()).join(',');
    if (got !== '4,5,10,11') throw new Error('matMul gave ' + got + ', expected 4,5,10,11');
    console.log('native-offline: tfjs-node works (backend ' + tf.getBackend() + ', libtensorflow ' + tf.backend().binding.TF_Version + ')');
  " 2>"${1:-/dev/stderr}"
}

if smoke_test /dev/null; then exit 0; fi

# 1. The wheel: reuse a download, else fetch it (pip here resolves it from the local index).
WHEEL_DIR=${PLUMAGE_TF_WHEEL_DIR:-$HOME/.cache/plumage/tfwheel}
find_wheel() { ls "$WHEEL_DIR"/tensorflow_cpu-2.21.0-*.whl 2>/dev/null | head -n 1; }
WHEEL=$(find_wheel || true)
if [ -z "$WHEEL" ]; then
  say "downloading $TF_WHEEL_SPEC into $WHEEL_DIR (274 MB) ..."
  mkdir -p "$WHEEL_DIR"
  pip download --quiet --no-deps -d "$WHEEL_DIR" "$TF_WHEEL_SPEC" >/dev/null 2>&1 || true
  WHEEL=$(find_wheel || true)
fi
[ -n "$WHEEL" ] || fail "no TensorFlow 2.21 CPU wheel: 'pip download --no-deps $TF_WHEEL_SPEC' failed and $WHEEL_DIR has none (set PLUMAGE_TF_WHEEL_DIR to a folder holding tensorflow_cpu-2.21.0-*.whl)"
say "using $WHEEL"

# 2. The package itself, without its install script (that one downloads). --no-save keeps
#    package.json and the lockfile untouched; npm installs the whole locked tree, so nothing is pruned.
gpu_was_there=0
[ -d "$GPU_PKG" ] && gpu_was_there=1
if [ ! -f "$PKG/package.json" ]; then
  say "installing @tensorflow/tfjs-node@$TFJS_NODE_VERSION (scripts off) ..."
  npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$TFJS_NODE_VERSION" >/dev/null 2>&1 \
    || fail "npm install @tensorflow/tfjs-node@$TFJS_NODE_VERSION failed (is the npm cache/registry reachable?)"
fi
# npm also unpacks the locked optional tfjs-node-gpu; without CUDA and a built addon it cannot
# load, so drop it again unless it was there before (Plumage would only try and skip it).
if [ "$gpu_was_there" = 0 ] && [ -d "$GPU_PKG" ] && ! ls "$GPU_PKG"/lib/napi-v*/tfjs_binding.node >/dev/null 2>&1; then
  rm -rf "$GPU_PKG"
fi
for dep in better-sqlite3 sharp @tensorflow/tfjs-backend-wasm vitest; do
  [ -d "node_modules/$dep" ] || fail "node_modules/$dep disappeared during the tfjs-node install"
done

# 3. libtensorflow and its C headers from the wheel, laid out as binding.gyp expects.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [ ! -f "$PKG/deps/lib/libtensorflow_cc.so.2" ] || [ ! -f "$PKG/deps/include/tensorflow/c/c_api.h" ]; then
  unzip -q -o "$WHEEL" \
    'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' \
    'tensorflow/include/tensorflow/c/*' \
    'tensorflow/include/tensorflow/core/platform/ctstring*' \
    'tensorflow/include/tsl/platform/ctstring*' \
    'tensorflow/include/xla/tsl/c/*' \
    -d "$TMP" || fail "could not unzip libtensorflow from $WHEEL"
  rm -rf "$PKG/deps"
  mkdir -p "$PKG/deps/lib"
  mv "$TMP/tensorflow/libtensorflow_cc.so.2" "$TMP/tensorflow/libtensorflow_framework.so.2" "$PKG/deps/lib/"
  mv "$TMP/tensorflow/include" "$PKG/deps/include"
  # binding.gyp links -ltensorflow -ltensorflow_framework (rpath deps/lib)
  ln -sf libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
  ln -sf libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so.2"
  ln -sf libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
fi

# 4. Before building: every TF_*/TFE_* function the addon calls must be exported by the library.
#    Names the binding defines itself (TF_AutoStatus …) or that are inline in the headers
#    (TF_TString_*) are not library symbols.
grep -ohE '\bTFE?_[A-Za-z0-9_]+[[:space:]]*\(' "$PKG"/binding/*.cc "$PKG"/binding/*.h \
  | sed 's/[[:space:]]*($//' | sort -u >"$TMP/called"
{
  grep -ohE '(class|struct)[[:space:]]+TFE?_[A-Za-z0-9_]+' "$PKG"/binding/*.h | awk '{print $2}'
  grep -rhoE 'inline[^;]*\bTFE?_[A-Za-z0-9_]+\(' "$PKG/deps/include" | grep -oE 'TFE?_[A-Za-z0-9_]+\($' | tr -d '('
} | sort -u >"$TMP/not-library"
comm -23 "$TMP/called" "$TMP/not-library" >"$TMP/needed"
# nm prints versioned names (TF_Version@@tensorflow)
nm -D --defined-only "$PKG/deps/lib/libtensorflow_cc.so.2" "$PKG/deps/lib/libtensorflow_framework.so.2" \
  | awk 'NF == 3 {sub(/@.*/, "", $3); print $3}' | sort -u >"$TMP/exported"
mapfile -t missing < <(comm -23 "$TMP/needed" "$TMP/exported")
[ ${#missing[@]} -eq 0 ] || fail "libtensorflow from $WHEEL lacks symbols the addon needs: ${missing[*]}"
say "libtensorflow exports all $(wc -l <"$TMP/needed") TF_/TFE_ functions the addon calls"

# 5. Build the N-API addon against it (node headers are local: --nodedir=/usr).
say "building the tfjs-node addon from source (a minute or two) ..."
NODE_PRE_GYP=$(node -p "require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', {paths: ['$PKG']})")
(cd "$PKG" && node "$NODE_PRE_GYP" install --build-from-source --nodedir=/usr >"$TMP/build.log" 2>&1) \
  || { tail -n 30 "$TMP/build.log" >&2; fail "building the tfjs-node addon failed (log above)"; }

smoke_test || fail "tfjs-node was built but does not load or compute correctly"
