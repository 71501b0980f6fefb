// Operator commands: make, list and revoke API keys. They talk to Postgres (DATABASE_URL), not to
// the HTTP API, because they are what gives access to it.
import { loadConfig } from "../config/config.js";
import { createPrismaClient } from "../persistence/prisma.js";
import { createTenantsRepository } from "../persistence/tenants-repository.js";
import type { Io } from "../cli/commands.js";
import { table } from "../cli/format.js";

export interface KeyOptions {
  name?: string;
  rateLimit?: string;
  maxActiveRuns?: string;
}

const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

function limit(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000) throw new Error(`${flag}: a whole number from 1 to 1000000, not ${text}`);
  return value;
}

export async function keys(io: Io, action: string | undefined, argument: string | undefined, options: KeyOptions): Promise<number> {
  if (action === "create" && !argument) throw new Error("usage: lossline keys create TENANT [--name N] [--rate-limit PER_MINUTE] [--max-active-runs N]");
  if (action === "create" && !TENANT_NAME.test(argument!)) throw new Error(`tenant: 1-100 letters, digits, '_', '.', '-', starting with a letter or digit; not ${JSON.stringify(argument)}`);
  if (action === "revoke" && !argument) throw new Error("usage: lossline keys revoke KEY_ID|KEY_PREFIX");
  if (action !== "create" && action !== "list" && action !== "revoke") throw new Error("usage: lossline keys create|list|revoke ...");
  const rateLimitPerMinute = limit("--rate-limit", options.rateLimit);
  const maxActiveRuns = limit("--max-active-runs", options.maxActiveRuns);

  const prisma = createPrismaClient({ databaseUrl: loadConfig().DATABASE_URL, poolSize: 1 });
  try {
    const tenants = createTenantsRepository({ prisma });
    if (action === "create") {
      const tenant = await tenants.ensureTenant(argument!, { rateLimitPerMinute, maxActiveRuns });
      const { key, record } = await tenants.createKey(tenant.id, { name: options.name });
      io.out.write(`${key}\n`);
      process.stderr.write(
        `key ${record.id} (${record.prefix}…) for tenant ${tenant.name}: shown once, store it now; use it as LOSSLINE_API_KEY or "Authorization: Bearer <key>"\n`,
      );
      return 0;
    }
    if (action === "list") {
      const rows = (await tenants.listKeys()).map((k) => [
        k.id,
        `${k.prefix}…`,
        k.tenant.name,
        k.name ?? "",
        k.createdAt.toISOString(),
        k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active",
      ]);
      io.out.write(`${table(["id", "prefix", "tenant", "name", "created", "state"], rows)}\n`);
      return 0;
    }
    const revoked = await tenants.revokeKey(argument!.replace(/…$/, ""));
    if (revoked === 0) throw new Error(`no key ${argument}`);
    io.out.write(`key ${argument} revoked (API instances stop accepting it within API_KEY_CACHE_MS)\n`);
    return 0;
  } finally {
    await prisma.$disconnect();
  }
}
