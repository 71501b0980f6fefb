import type { z } from "zod";
import type { runListSchema } from "../contracts/api.js";

export type { RunView } from "../contracts/api.js";
export type RunList = z.infer<typeof runListSchema>;
