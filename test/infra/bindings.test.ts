import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  bindingsAreCurrent,
  defaultGenDir,
  defaultSchemaPath,
  generateBindings,
} from "../../infra/bindings/generate.js";
import { projectRoot } from "./synth-helpers.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

describe("offline provider bindings", () => {
  it("generates the cdktf get layout from the committed schema, then skips until the schema changes", async () => {
    const genDir = tempDir("todo-gen-");
    const first = await generateBindings({ genDir });
    expect(first.generated).toBe(true);
    const providerDir = path.join(genDir, "providers/volcengine");
    // Same paths as `cdktf get` with codeMakerOutput ".gen".
    for (const f of [
      "index.ts",
      "lazy-index.ts",
      "provider/index.ts",
      "vpc/index.ts",
      "ecs-instance/index.ts",
      "data-volcengine-images/index.ts",
      "rds-postgresql-allowlist-associate/index.ts",
    ]) {
      expect(existsSync(path.join(providerDir, f)), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(path.join(genDir, "versions.json"), "utf8"))).toEqual({
      "registry.terraform.io/volcengine/volcengine": "0.0.196",
    });
    const provider = readFileSync(path.join(providerDir, "provider/index.ts"), "utf8");
    expect(provider).toContain("providerVersion: '0.0.196'");
    expect(provider).toContain("providerVersionConstraint: '~> 0.0.196'");

    expect((await generateBindings({ genDir })).generated).toBe(false);
    expect(bindingsAreCurrent({ genDir })).toBe(true);

    // A schema without the CLB resource: regenerated, and the stale folder is gone.
    const schema = JSON.parse(readFileSync(defaultSchemaPath, "utf8"));
    delete schema.provider_schemas["registry.terraform.io/volcengine/volcengine"].resource_schemas.volcengine_clb;
    const schemaPath = path.join(tempDir("todo-schema-"), "schema.json");
    writeFileSync(schemaPath, JSON.stringify(schema));
    expect(bindingsAreCurrent({ genDir, schemaPath })).toBe(false);
    expect((await generateBindings({ genDir, schemaPath })).generated).toBe(true);
    expect(readdirSync(providerDir)).not.toContain("clb");
    expect(readdirSync(providerDir)).toContain("vpc");
  });

  it("the project's .gen is current and cdktf.json points cdktf get at the same place", () => {
    expect(bindingsAreCurrent()).toBe(true);
    const cdktf = JSON.parse(readFileSync(path.join(projectRoot, "cdktf.json"), "utf8"));
    expect(path.resolve(projectRoot, cdktf.codeMakerOutput)).toBe(defaultGenDir);
    expect(cdktf.terraformProviders).toEqual(["volcengine/volcengine@~> 0.0.196"]);
    expect(cdktf.language).toBe("typescript");
  });

  it("the generated CommonJS lazy-index loads under tsx in this ESM project", () => {
    const dir = tempDir("todo-lazy-");
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const gen = path.join(defaultGenDir, "providers/volcengine");
    writeFileSync(
      path.join(dir, "probe.ts"),
      [
        `import * as lazy from ${JSON.stringify(path.join(gen, "lazy-index.ts"))};`,
        `import { EcsInstance } from ${JSON.stringify(path.join(gen, "ecs-instance/index.ts"))};`,
        `const l = ((lazy as any).vpc ? lazy : (lazy as any).default) as any;`,
        `console.log(JSON.stringify([typeof l.vpc.Vpc, l.vpc.Vpc.tfResourceType, l.rdsPostgresqlInstance.RdsPostgresqlInstance.tfResourceType, EcsInstance.tfResourceType]));`,
      ].join("\n"),
    );
    const r = spawnSync(path.join(projectRoot, "node_modules/.bin/tsx"), [path.join(dir, "probe.ts")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout.trim())).toEqual([
      "function",
      "volcengine_vpc",
      "volcengine_rds_postgresql_instance",
      "volcengine_ecs_instance",
    ]);
  });
});
