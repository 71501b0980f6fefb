import { defineConfig } from "prisma/config";

// Only the CLI reads this file (generate, and migrate where Prisma's engine can be installed).
// The service itself gets DATABASE_URL through src/config.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/lossline" },
});
