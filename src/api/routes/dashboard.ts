import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";

const PUBLIC_DIR = fileURLToPath(new URL("../../../public", import.meta.url));
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve("uplot/dist/uPlot.esm.js"));

/** The dashboard: static files from public/ at /, and uPlot from its npm package at /assets/uplot/ (no CDN). */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: "/", index: ["index.html"], wildcard: false, schemaHide: true });
  await app.register(fastifyStatic, { root: UPLOT_DIR, prefix: "/assets/uplot/", decorateReply: false, wildcard: false, schemaHide: true });
};
