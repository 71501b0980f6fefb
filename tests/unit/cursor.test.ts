import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeCursor, encodeCursor } from "../../src/api/run-view.js";

test("page cursors round-trip and reject what the API did not issue", () => {
  const cursor = { createdAt: new Date("2026-11-26T10:00:00.123Z"), id: "0b7f7d4e-9a54-4b43-8d1e-2f5b2f8f3c11" };
  assert.deepEqual(decodeCursor(encodeCursor(cursor)), cursor);
  assert.equal(decodeCursor("zz"), null);
  assert.equal(decodeCursor(Buffer.from(JSON.stringify(["not a date", cursor.id])).toString("base64url")), null);
  assert.equal(decodeCursor(Buffer.from(JSON.stringify([cursor.createdAt, "x'; drop"])).toString("base64url")), null);
});
