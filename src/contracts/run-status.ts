import { z } from "zod";

export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export const runStatusSchema = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "canceled"]);
export const isTerminal = (status: RunStatus): boolean => TERMINAL_STATUSES.has(status);
