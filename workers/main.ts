// Worker entry: `npm run worker`. Start as many as you like, on any hosts that share Redis and Postgres.
import pino from "pino";
import { loadConfig } from "../src/config/config.js";
import { startWorkerService } from "./worker-service.js";

const config = loadConfig();
const log = pino({ level: config.LOG_LEVEL, base: { role: "worker", workerId: config.WORKER_ID } });
const service = await startWorkerService(config, log);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    log.info({ signal }, "shutting down: handing active runs back to the queue");
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "unclean shutdown");
        process.exit(1);
      },
    );
  });
}
