import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { apiNodeFlags, DEFAULT_APP_MEMORY_MAX_MIB } from "../../cloud-init/node-flags.js";
import { serverFiles } from "../../cloud-init/render.js";

describe("the API's V8 flags", () => {
  it("are accepted by this Node (a flag Node rejects would keep every app instance from starting)", () => {
    const flags = apiNodeFlags(DEFAULT_APP_MEMORY_MAX_MIB);
    const r = spawnSync(
      process.execPath,
      [...flags, "-e", "process.stdout.write(String(require('v8').getHeapStatistics().heap_size_limit))"],
      { encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // The old-generation limit took effect: 384 MiB plus the young generation, far below Node's default.
    expect(Number(r.stdout) / 2 ** 20).toBeLessThan(450);
  });

  it("are the same in the server's unit, `npm run start:prod` and (by import) `npm run bench`", () => {
    const flags = apiNodeFlags(DEFAULT_APP_MEMORY_MAX_MIB).join(" ");
    const unit = serverFiles({ environment: "prod", databaseMode: "local" }).find(
      (f) => f.path === "/etc/systemd/system/todo-api@.service",
    )!;
    expect(unit.content).toContain(`ExecStart=/usr/local/bin/node ${flags} /opt/todo-api/current/server.mjs`);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(pkg.scripts["start:prod"]).toBe(`node ${flags} dist/server.mjs`);
  });

  it("never let V8's heap limit fall below what the app needs at rest", () => {
    expect(apiNodeFlags(128)).toContain("--max-old-space-size=96");
  });
});
