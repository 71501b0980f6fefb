import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.js";

export type { PrismaClient };

/**
 * A Prisma client over node-postgres (Prisma 7's driver adapter; no engine binary involved). A
 * connection attempt gives up after 5 s, so that a server that accepts and never answers cannot
 * hold a request, or a shutdown, forever.
 */
export function createPrismaClient(options: { databaseUrl: string; poolSize?: number }): PrismaClient {
  const adapter = new PrismaPg({ connectionString: options.databaseUrl, max: options.poolSize ?? 10, connectionTimeoutMillis: 5_000 });
  return new PrismaClient({ adapter });
}
