import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .filter((file) => !file.includes("/generated/"));
}

/** Project-relative targets of a file's relative imports. */
function localImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.[^"']+)["']/g)].map((match) =>
    relative(ROOT, resolve(dirname(join(ROOT, file)), match[1]!)),
  );
}

test("src/api never imports training or workers", () => {
  for (const file of sourceFiles("src/api")) {
    for (const target of localImports(file)) {
      assert.ok(!target.startsWith("src/training") && !target.startsWith("workers"), `${file} imports ${target}`);
    }
  }
});

test("src/training imports only contracts and its own folder", () => {
  const files = sourceFiles("src/training");
  assert.ok(files.length > 0);
  for (const file of files) {
    for (const target of localImports(file)) {
      assert.ok(target.startsWith("src/training") || target.startsWith("src/contracts"), `${file} imports ${target}`);
    }
  }
});

test("the CLI uses only the public API: it imports contracts, config and itself (and its entry, the operators' key commands)", () => {
  for (const file of sourceFiles("src/cli")) {
    for (const target of localImports(file)) {
      const allowed = ["src/cli", "src/contracts", "src/config", ...(file === "src/cli/main.ts" ? ["src/admin/"] : [])];
      assert.ok(allowed.some((prefix) => target.startsWith(prefix)), `${file} imports ${target}`);
    }
  }
});

test("only src/config reads the environment", () => {
  for (const file of [...sourceFiles("src"), ...sourceFiles("workers")]) {
    if (file.startsWith("src/config/")) continue;
    assert.ok(!/process\.env/.test(readFileSync(join(ROOT, file), "utf8")), `${file} reads process.env`);
  }
});
