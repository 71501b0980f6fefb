// npm run migrate: creates DATABASE_URL's database if needed and applies prisma/migrations to it.
import { loadConfig } from "../src/config/config.js";
import { ensureDatabase, migrate } from "../src/persistence/migrate.js";

const config = loadConfig();
const created = await ensureDatabase(config.DATABASE_URL);
const result = await migrate(config.DATABASE_URL);
const where = new URL(config.DATABASE_URL);
where.password = "";
console.log(
  `${created ? "created and " : ""}migrated ${where.host}${where.pathname}: ` +
    `${result.applied.length} applied (${result.applied.join(", ") || "none"}), ${result.alreadyApplied.length} already there`,
);
