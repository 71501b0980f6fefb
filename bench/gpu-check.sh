#!/usr/bin/env bash
# The GPU device check: on a lent GPU machine (no Node.js, no network, PyTorch with CUDA), trains
# LeNet-BN (batch 256, 28x28) and ResNet-18 (batch 32, 96x96) through the webgpu backend (Dawn over the
# NVIDIA driver's Vulkan) and the same networks in PyTorch on CUDA, and prints samples/s and the ratio.
# Prepare here with bench/gpu-pack.sh (writes dist/gpu-pack), then one device call:
#   run(command="bash bench/gpu-check.sh dist/gpu-pack", carry=["dist/gpu-pack"], timeout_s=420)
# Lines starting with GPU-CHECK are the results (one JSON line per network); the rest is context.
# Usage: bench/gpu-check.sh [pack dir=dist/gpu-pack] [gpu-check options: --seconds 10 --only lenet --steps N --device cuda]
set -uo pipefail
pack="dist/gpu-pack"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then pack="$1"; shift; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$pack/gpu-check.tar.gz" -C "$work" || { echo "GPU-CHECK no pack at $pack (run bench/gpu-pack.sh first)"; exit 1; }
root="$work/gpu-check"

echo "== machine"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
export PYTHON="${PYTHON:-python3}"
python="$PYTHON"
echo "node $("$root/bin/node" --version), $("$python" --version 2>&1)"
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available() and torch.cuda.get_device_name(0))' 2>&1 | tail -1

echo "== Vulkan"
libraries="$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null)"
# A GPU machine without the GL vendor-neutral libraries (glvnd) cannot use the NVIDIA driver's
# Vulkan ICD: unpack the packed .debs into / there (as root, on a lent machine only: never in the smoke test).
if [ -z "${GPU_CHECK_SMOKE:-}" ] && [ "$(id -u)" = 0 ] && command -v nvidia-smi >/dev/null && command -v dpkg >/dev/null \
  && [ -d "$root/debs" ] && ! { grep -q "libGLdispatch.so.0 " <<<"$libraries" && grep -q "libEGL.so.1 " <<<"$libraries" && grep -q "libGLX.so.0 " <<<"$libraries"; }; then
  unpacked=0
  for deb in "$root"/debs/*.deb; do dpkg -x "$deb" / && unpacked=$((unpacked + 1)); done
  ldconfig
  libraries="$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null)"
  echo "unpacked $unpacked GL/Vulkan .debs into / (the machine had no glvnd)"
fi
# The machine's own loader when it has one, else the packed one.
if [ -n "${GPU_CHECK_PACKED_LOADER:-}" ] || ! grep -q 'libvulkan.so.1 ' <<<"$libraries"; then
  export LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "Vulkan loader: packed $(basename "$(readlink -f "$root/lib/libvulkan.so.1")")"
else
  echo "Vulkan loader: the machine's"
fi
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] \
  && export __EGL_VENDOR_LIBRARY_FILENAMES="${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}"
# The NVIDIA driver's Vulkan ICD lives in libGLX_nvidia.so.0. Containers put its JSON manifest in
# different places, or none (then we write one): try each until Dawn finds a GPU adapter.
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "${GPU_CHECK_SMOKE:-}" ]; then
  candidates=()
  for manifest in /usr/local/nvidia/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json /usr/share/vulkan/icd.d/nvidia*.json /usr/local/share/vulkan/icd.d/nvidia*.json; do
    [ -f "$manifest" ] && candidates+=("$manifest")
  done
  glx="$(awk '/libGLX_nvidia.so.0 / {print $NF; exit}' <<<"$libraries")"
  [ -z "$glx" ] && glx="$(ls /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 /usr/lib64/libGLX_nvidia.so.0 /usr/local/nvidia/lib64/libGLX_nvidia.so.0 2>/dev/null | head -n 1)"
  if [ -n "$glx" ]; then
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$glx" > "$work/nvidia_icd.json"
    candidates+=("$work/nvidia_icd.json")
  fi
  chosen=""
  for manifest in "${candidates[@]}"; do
    probe="$(VK_ICD_FILENAMES="$manifest" VK_DRIVER_FILES="$manifest" timeout 20 "$root/bin/node" "$root/gpu-check.mjs" --probe 2>&1)"
    status=$?
    echo "$manifest: $(grep 'GPU-CHECK probe' <<<"$probe" || tail -n 1 <<<"$probe")"
    if [ "$status" = 0 ]; then chosen="$manifest"; break; fi
  done
  if [ -n "$chosen" ]; then
    export VK_ICD_FILENAMES="$chosen" VK_DRIVER_FILES="$chosen"
    echo "ICD manifest: $chosen"
  else
    echo "no NVIDIA Vulkan ICD gave an adapter (tried: ${candidates[*]:-none}); NVIDIA libraries present:"
    grep -o 'lib[a-zA-Z_]*nvidia[^ ]*' <<<"$libraries" | sort -u | tr '\n' ' '; echo
    if [ "${#candidates[@]}" -gt 0 ]; then
      VK_LOADER_DEBUG=error,warn,driver VK_ICD_FILENAMES="${candidates[0]}" timeout 20 "$root/bin/node" "$root/gpu-check.mjs" --probe 2>&1 | tail -n 25
    fi
  fi
fi

echo "== webgpu vs PyTorch"
# GPU_CHECK_NODE_FLAGS: flags for this one Node process (e.g. --cpu-prof --cpu-prof-dir=DIR), not the probes.
read -ra node_flags <<<"${GPU_CHECK_NODE_FLAGS:-}"
"$root/bin/node" "${node_flags[@]}" "$root/gpu-check.mjs" --pytorch "$root/pytorch_convnets.py" --device cuda "$@" 2>&1 \
  | grep -v 'artificially reduced from'
exit "${PIPESTATUS[0]}"
