// API entry: `npm run api`. Serves HTTP and WebSocket on HOST:PORT until SIGTERM or SIGINT.
import { createApiService } from "./api-service.js";
import { loadConfig } from "./config/config.js";

const config = loadConfig();
const service = await createApiService(config);
await service.app.listen({ host: config.HOST, port: config.PORT });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    service.app.log.info({ signal }, "shutting down");
    service.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
