#!/bin/sh
# The Debian/Ubuntu packages Lossline uses beyond Node.js, installed when missing:
#   dataset-fashion-mnist  the convnets' data set (/usr/share/datasets/fashion-mnist)
#   libdnnl-dev            oneDNN, for the native CPU kernels (optional: without it workers use wasm)
# Elsewhere it says what to install and carries on: the airfoil jobs need neither.
set -eu
missing=""
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing="$missing dataset-fashion-mnist"
[ -f /usr/include/dnnl.h ] || missing="$missing libdnnl-dev"
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages: no apt-get here; install$missing by hand (see README)" >&2
  exit 0
fi
run=""
[ "$(id -u)" = 0 ] || run="sudo"
echo "system packages: installing$missing"
$run apt-get update -qq
DEBIAN_FRONTEND=noninteractive $run apt-get install -y -qq $missing >/dev/null
