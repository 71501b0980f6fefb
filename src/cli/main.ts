import { parseArgs } from "node:util";
import { loadCliConfig } from "../config/config.js";
import { ApiError, createApiClient, UnreachableError } from "./api-client.js";
import * as commands from "./commands.js";
import { keys } from "../admin/keys.js";

const USAGE = `usage: lossline <command> [options]      (talks to LOSSLINE_URL, default http://127.0.0.1:3000,
                                         with the key in LOSSLINE_API_KEY)

  submit SPEC.json [--follow]     submit a job; --follow shows its progress until it ends
  follow RUN                      show a run's progress until it ends (Ctrl-C offers to cancel it)
  runs [--status S] [--kind K] [--model M] [--dataset D] [--sweep ID] [--limit N] [--cursor C]
  show RUN                        a run's spec, status, worker, final metrics and epochs
  cancel RUN
  metrics RUN [--csv] [--points N]  every loss point (or N of them, keeping each bucket's min and max)
  sweep SWEEP.json                submit a sweep: {"base": spec, "grid": {...}, "variants": [...]}

operators (talk to Postgres at DATABASE_URL, not to the API):
  keys create TENANT [--name N] [--rate-limit PER_MINUTE] [--max-active-runs N]
                                  make a key (printed once) for TENANT, creating the tenant or changing its limits
  keys list                       every key: id, prefix, tenant, state (never the key)
  keys revoke KEY_ID|PREFIX
`;

/** Runs one command; returns the process exit code (0 ok, 1 failure, 2 the API refused the request). */
export async function main(argv: string[], io: commands.Io): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    return report(error, io);
  }
}

async function run(argv: string[], io: commands.Io): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      follow: { type: "boolean" },
      csv: { type: "boolean" },
      points: { type: "string" },
      status: { type: "string" },
      kind: { type: "string" },
      model: { type: "string" },
      dataset: { type: "string" },
      sweep: { type: "string" },
      limit: { type: "string" },
      cursor: { type: "string" },
      name: { type: "string" },
      "rate-limit": { type: "string" },
      "max-active-runs": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, argument] = positionals;
  if (values.help || !command) return usage(io, values.help ? 0 : 1);
  if (command === "keys") {
    return keys(io, argument, positionals[2], { name: values.name, rateLimit: values["rate-limit"], maxActiveRuns: values["max-active-runs"] });
  }
  const config = loadCliConfig();
  const api = createApiClient(config.LOSSLINE_URL, config.LOSSLINE_API_KEY);
  switch (command) {
    case "submit":
      return argument ? await commands.submit(api, io, argument, values.follow === true) : usage(io, 1);
    case "follow":
      return argument ? await commands.followToEnd(api, io, argument) : usage(io, 1);
    case "runs": {
      const { status, kind, model, dataset, sweep: sweepId, limit, cursor } = values;
      return await commands.runs(api, io, { status, kind, model, dataset, sweepId, limit, cursor });
    }
    case "show":
      return argument ? await commands.show(api, io, argument) : usage(io, 1);
    case "cancel":
      return argument ? await commands.cancel(api, io, argument) : usage(io, 1);
    case "metrics":
      return argument ? await commands.metrics(api, io, argument, values.csv === true, values.points) : usage(io, 1);
    case "sweep":
      return argument ? await commands.sweep(api, io, argument) : usage(io, 1);
    default:
      process.stderr.write(`unknown command ${command}\n`);
      return usage(io, 1);
  }
}

/** Asked for (--help): on stdout; as a complaint about the arguments: on stderr. */
function usage(io: commands.Io, code: number): number {
  (code === 0 ? io.out : process.stderr).write(USAGE);
  return code;
}

/** The API's own words for a refused request, field by field; never a stack trace. */
function report(error: unknown, io: commands.Io): number {
  if (error instanceof ApiError) {
    process.stderr.write(`error ${error.status}: ${error.body.error ?? "request refused"}: ${error.message}\n`);
    for (const issue of error.body.issues ?? []) process.stderr.write(`  ${issue.path}: ${issue.message}\n`);
    return 2;
  }
  process.stderr.write(`${error instanceof UnreachableError ? "" : "error: "}${(error as Error).message}\n`);
  return 1;
}
