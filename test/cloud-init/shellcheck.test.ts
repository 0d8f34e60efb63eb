import { readdirSync } from "node:fs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { renderedFiles, run, variants } from "./helpers.js";
import { requireTool } from "../support/tools.js";

const shellcheck = requireTool("shellcheck");
const binDir = fileURLToPath(new URL("../../cloud-init/bin/", import.meta.url));
const libDir = fileURLToPath(new URL("../../cloud-init/lib/", import.meta.url));
// the scripts, and the shell libraries they source
const sources = [
  ...readdirSync(binDir).map((name) => join(binDir, name)),
  ...readdirSync(libDir)
    .filter((name) => name.endsWith(".sh"))
    .map((name) => join(libDir, name)),
];
const dir = mkdtempSync(join(tmpdir(), "shellcheck-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(shellcheck.missing)("shell scripts", () => {
  it("there are scripts to check", () => {
    expect(sources.length).toBeGreaterThanOrEqual(6);
  });

  it.each(sources)("%s passes shellcheck and bash -n", (file) => {
    const r = run("shellcheck", ["--severity=style", "--external-sources", file]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(run("bash", ["-n", file]).status).toBe(0);
  });

  // What actually lands on the server (comments stripped, templates filled) must pass too.
  it("the rendered scripts of every variant pass shellcheck", () => {
    const files: string[] = [];
    for (const [name, options] of Object.entries(variants)) {
      for (const f of renderedFiles(options).values()) {
        if (f.mode !== 0o755 && !f.path.endsWith(".sh")) continue;
        const out = join(dir, `${name.replace(/\W+/g, "-")}-${f.path.split("/").pop()}`);
        writeFileSync(out, f.content);
        files.push(out);
      }
    }
    expect(files.length).toBeGreaterThanOrEqual(4 * 3);
    // --external-sources: each script's `source=` directive names the library in the repository
    const r = run("shellcheck", ["--severity=style", "--external-sources", ...files], { timeout: 240_000 });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 240_000);

  it("shellcheck does flag a bad script (the check can fail)", () => {
    const bad = join(dir, "bad.sh");
    writeFileSync(bad, "#!/bin/bash\nrm -rf $1/*\n");
    expect(run("shellcheck", [bad]).status).not.toBe(0);
  });
});
