#!/usr/bin/env node
// `npx lossline ...`: the command-line client. Runs the TypeScript sources through tsx.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2), { out: process.stdout, input: process.stdin });
