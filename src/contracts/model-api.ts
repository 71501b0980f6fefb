import { z } from "zod";
import { MODEL_NAMES } from "./models.js";

export const modelParamsSchema = z.strictObject({ name: z.enum(MODEL_NAMES).describe("lenet, resnet18 or densenet") });

export const modelSummaryQuerySchema = z.strictObject({
  size: z.coerce.number().int().min(1).max(512).optional().describe("side of the square input image; default: the model's usual size"),
  batchNorm: z.enum(["none", "builtin", "scratch"]).optional().describe("lenet only: none gives the original LeNet"),
});

export const modelInfoSchema = z
  .strictObject({
    name: z.enum(MODEL_NAMES),
    title: z.string(),
    defaultSize: z.int().describe("the input size the book trains it at"),
    minimumSize: z.int().describe("smallest input side the network accepts"),
    batchNorm: z.array(z.string()).describe("values of the spec's model.batchNorm"),
    links: z.strictObject({ summary: z.string() }),
  })
  .meta({ id: "ModelInfo" });
export type ModelInfo = z.infer<typeof modelInfoSchema>;
