import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { ApiKey, Tenant } from "./generated/client.js";
import type { PrismaClient } from "./prisma.js";

export type { ApiKey, Tenant };

/** What a valid key tells the API about its caller. */
export interface Caller {
  tenantId: string;
  tenantName: string;
  keyId: string;
  /** The tenant's own limits; null: the service's defaults. */
  rateLimitPerMinute: number | null;
  maxActiveRuns: number | null;
}

interface TenantLimits {
  rateLimitPerMinute?: number | null;
  maxActiveRuns?: number | null;
}

const KEY_PREFIX = "ll_";

/** Hex SHA-256 of a key: what is stored and looked up, never the key itself. */
export const hashApiKey = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");

/** A new key: "ll_" and 256 random bits, base64url. */
export const generateApiKey = () => `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;

/** Whether `key` has the shape of every key generateApiKey makes (others are refused without a lookup). */
const KEY_SHAPE = new RegExp(`^${KEY_PREFIX}[A-Za-z0-9_-]{43}$`);
export const isApiKeyShape = (key: string) => KEY_SHAPE.test(key);

/** The part of a key shown in listings: enough to tell keys apart, far too little to use. */
const keyPrefix = (key: string) => key.slice(0, KEY_PREFIX.length + 8);

export type TenantsRepository = ReturnType<typeof createTenantsRepository>;

export function createTenantsRepository({ prisma }: { prisma: PrismaClient }) {
  return {
    /** The tenant of that name, made with `limits` if it did not exist; existing limits change only where given. */
    async ensureTenant(name: string, limits: TenantLimits = {}): Promise<Tenant> {
      return prisma.tenant.upsert({
        where: { name },
        create: { id: randomUUID(), name, rateLimitPerMinute: limits.rateLimitPerMinute ?? null, maxActiveRuns: limits.maxActiveRuns ?? null },
        update: limits,
      });
    },

    /**
     * Makes a key for the tenant and returns it: the only time it exists outside the caller's hands.
     * `key` lets a caller choose it (tests, a demo's fixed key); otherwise it is random.
     */
    async createKey(tenantId: string, options: { name?: string | null; key?: string } = {}): Promise<{ key: string; record: ApiKey }> {
      const key = options.key ?? generateApiKey();
      // A key of another shape would be refused at every request without a lookup.
      if (!isApiKeyShape(key)) throw new Error("createKey: a given key must have the shape of a generated one (ll_ and 43 base64url characters)");
      const record = await prisma.apiKey.create({
        data: { id: randomUUID(), tenantId, hash: hashApiKey(key), prefix: keyPrefix(key), name: options.name ?? null },
      });
      return { key, record };
    },

    /** The caller a key belongs to; null for an unknown or revoked key. */
    async authenticate(key: string): Promise<Caller | null> {
      const found = await prisma.apiKey.findUnique({ where: { hash: hashApiKey(key) }, include: { tenant: true } });
      if (!found || found.revokedAt) return null;
      const { tenant } = found;
      return {
        tenantId: tenant.id,
        tenantName: tenant.name,
        keyId: found.id,
        rateLimitPerMinute: tenant.rateLimitPerMinute,
        maxActiveRuns: tenant.maxActiveRuns,
      };
    },

    /** Every key (never the key itself), newest first, with its tenant's name. */
    async listKeys(): Promise<(ApiKey & { tenant: Tenant })[]> {
      return prisma.apiKey.findMany({ include: { tenant: true }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
    },

    /** Revokes the key with this id or prefix; how many keys that matched (0, or 1; more is refused). */
    async revokeKey(idOrPrefix: string): Promise<number> {
      const where = /^[0-9a-f-]{36}$/i.test(idOrPrefix) ? { id: idOrPrefix } : { prefix: idOrPrefix };
      const matches = await prisma.apiKey.findMany({ where, select: { id: true } });
      if (matches.length > 1) throw new Error(`${idOrPrefix} matches ${matches.length} keys: give the key's id`);
      if (matches.length === 0) return 0;
      await prisma.apiKey.update({ where: { id: matches[0]!.id }, data: { revokedAt: new Date() } });
      return 1;
    },
  };
}
