# One image that runs the API (default) or a worker (`npm run worker`), or applies migrations
# (`npm run migrate`); the `gpu` target adds @tensorflow/tfjs-node-gpu on CUDA 11.2 / cuDNN 8 for
# GPU workers (`docker build --target gpu`). Not built here: this machine has no Docker engine, and
# tfjs-node-gpu's install downloads libtensorflow, which needs internet.

# -- dependencies, with the Prisma client generated (no engine download is needed for that)
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/prisma-generate.mjs scripts/build-native.mjs ./scripts/
# oneDNN and a compiler for the native training kernels (built by npm ci's postinstall into build/).
RUN apt-get update && apt-get install -y --no-install-recommends libdnnl-dev python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY binding.gyp ./
COPY native ./native
RUN npm ci --omit=dev --no-audit --no-fund

# -- runtime
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
# Fashion-MNIST's four IDX files, for classification jobs (FASHION_MNIST_DIR points here by default).
# libdnnl2: the oneDNN runtime the addon built in `deps` (build/) links against.
RUN apt-get update && apt-get install -y --no-install-recommends dataset-fashion-mnist libdnnl2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
COPY --from=deps /app/src/persistence/generated ./src/persistence/generated
COPY --from=deps /app/build ./build
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/server.ts"]

# -- GPU worker: tfjs-node-gpu 4.22 binds libtensorflow 2.9, built for CUDA 11.2 and cuDNN 8.1.
# Its install script downloads libtensorflow, so scripts are allowed for it here only.
FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS gpu
ENV NODE_ENV=production WORKER_ACCELERATOR=gpu TF_BACKEND=auto
COPY --from=runtime /usr/local/bin/node /usr/local/bin/node
COPY --from=runtime /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY --from=runtime /usr/share/datasets/fashion-mnist /usr/share/datasets/fashion-mnist
WORKDIR /app
COPY --from=runtime /app /app
RUN node -e "const p=require('./package.json');p.allowScripts['@tensorflow/tfjs-node-gpu']=true;require('fs').writeFileSync('package.json',JSON.stringify(p,null,2))" \
 && npm install --omit=dev --no-audit --no-fund --no-save @tensorflow/tfjs-node-gpu@4.22.0 \
 && node -e "require('@tensorflow/tfjs-node-gpu')"
CMD ["node", "--import", "tsx", "workers/main.ts"]

# -- GPU worker on WebGPU (TF_BACKEND=auto picks webgpu when Dawn finds a GPU adapter): Dawn (npm
# webgpu) drives the NVIDIA driver's Vulkan ICD, which the container toolkit mounts only when the
# `graphics` capability is asked for. A target of its own: dawn.node needs glibc 2.34 (bookworm has
# 2.36; the CUDA 11.2 image of `gpu` above has 2.31).
FROM runtime AS webgpu
USER root
RUN apt-get update && apt-get install -y --no-install-recommends libvulkan1 && rm -rf /var/lib/apt/lists/*
USER node
ENV WORKER_ACCELERATOR=gpu TF_BACKEND=auto NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
CMD ["node", "--import", "tsx", "workers/main.ts"]
