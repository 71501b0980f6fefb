import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.js";

export type { PrismaClient };

/** A Prisma client over node-postgres (Prisma 7's driver adapter; no engine binary involved). */
export function createPrismaClient(options: { databaseUrl: string; poolSize?: number }): PrismaClient {
  const adapter = new PrismaPg({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}
