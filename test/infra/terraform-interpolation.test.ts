/**
 * Terraform evaluates "${...}" and "%{...}" in every string of cdk.tf.json. The provisioner
 * scripts and user data are shell text, so this runs the real Terraform CLI (offline, on a
 * provider-free configuration of only variables and outputs) to check that they come out
 * exactly as intended: shell syntax untouched, secrets interpolated and URL-encoded.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HTTPS, RDS, baseEnvironment, cleanupSynthDirs, resources, synth } from "./synth-helpers.js";
import { requireTool, terraformCommand } from "../support/tools.js";

const hasTerraform = requireTool("terraform").available;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  cleanupSynthDirs();
});

function tf(dir: string, args: string[]) {
  const r = spawnSync(terraformCommand(), args, {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" },
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`terraform ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!hasTerraform)("Terraform interpolation of scripts and user data (terraform CLI)", () => {
  it("evaluates the deploy scripts and user data to exactly the intended text", async () => {
    const r = await synth({ environments: { prod: baseEnvironment({ database: RDS, https: HTTPS }) } });
    const stack = r.stacks["todo-api-prod"]!;
    const deploy = resources(stack, "null_resource")[0]!;
    const scripts: string[][] = deploy.provisioner
      .filter((p: any) => p["remote-exec"])
      .map((p: any) => p["remote-exec"].inline);
    const userData: string = resources(stack, "volcengine_ecs_instance")[0]!.user_data;

    // Resource attributes are unknown without a provider: stand in literal values for them.
    // Variables and functions stay real, so Terraform evaluates them.
    const standIns: [RegExp, string][] = [
      [/\$\{volcengine_rds_postgresql_account\.[\w-]+\.account_name\}/g, "todo_app"],
      [/\$\{volcengine_rds_postgresql_database\.[\w-]+\.db_name\}/g, "todo"],
      [/\$\{local\.database_host_[\w-]+\}/g, "pg-123.rds.internal"],
      [/\$\{local\.database_port_[\w-]+\}/g, "5432"],
    ];
    const standIn = (s: string) => standIns.reduce((acc, [re, v]) => acc.replace(re, v), s);

    const password = "p@ss:w/rd'%{x}$HOME";
    const jwt = `${"J".repeat(40)}+/=_.-`;
    const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-interp-"));
    dirs.push(dir);
    const config = {
      variable: {
        db_password: { type: "string", sensitive: true, default: password },
        jwt_secret: { type: "string", sensitive: true, default: jwt },
      },
      output: Object.fromEntries([
        ...scripts.map((lines, i) => [`script_${i}`, { value: lines.map(standIn).join("\n"), sensitive: true }]),
        ["user_data", { value: userData }],
      ]),
    };
    writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(config));
    tf(dir, ["init", "-input=false", "-no-color"]);
    tf(dir, ["apply", "-auto-approve", "-input=false", "-no-color"]);
    const out = JSON.parse(tf(dir, ["output", "-json"])) as Record<string, { value: string }>;

    expect(out.user_data!.value).toBe(userData);

    const encoded = "p%40ss%3Aw%2Frd%27%25%7Bx%7D%24HOME";
    const expected = scripts.map((lines) =>
      lines.map(standIn).join("\n").replace("${var.jwt_secret}", jwt).replace("${urlencode(var.db_password)}", encoded),
    );
    expect(scripts).toHaveLength(3); // host settings + server kit, secrets, release switch
    expected.forEach((text, i) => {
      expect(out[`script_${i}`]!.value).toBe(text);
    });
    // The host settings arrive byte for byte (no Terraform interpolation in the heredoc).
    expect(out.script_0!.value).toContain("DOMAIN='api.example.com'\n");
    expect(out.script_0!.value).toContain("/server/install");
    expect(out.script_1!.value).toContain(
      `printf '%s' 'postgres://todo_app:${encoded}@pg-123.rds.internal:5432/todo' |`,
    );

    // What Terraform produced is valid POSIX shell.
    for (const script of expected.map((_, i) => out[`script_${i}`]!.value)) {
      const sh = spawnSync("sh", ["-n"], { input: script, encoding: "utf8" });
      expect(sh.stderr).toBe("");
      expect(sh.status).toBe(0);
    }
  }, 120_000);
});

describe.skipIf(!hasTerraform)("RDS endpoint selection (terraform CLI)", () => {
  it("picks the private address, falls back to any address, and flags none", async () => {
    const r = await synth({ environments: { prod: baseEnvironment({ database: RDS }) } });
    const stack = r.stacks["todo-api-prod"]!;
    const locals = Object.fromEntries(
      Object.entries(stack.locals as Record<string, string>)
        .filter(([name]) => name.startsWith("database_"))
        .map(([name, expr]) => [
          name,
          expr.replace(/volcengine_rds_postgresql_instance\.[\w-]+\.endpoints/g, "local.mock_endpoints"),
        ]),
    );
    const hostLocal = Object.keys(locals).find((n) => n.startsWith("database_host_"))!;
    const portLocal = Object.keys(locals).find((n) => n.startsWith("database_port_"))!;
    const deploy = resources(stack, "null_resource")[0]!;
    const condition: string = deploy.lifecycle.precondition[0].condition;
    expect(condition).toBe(`\${local.${hostLocal} != ""}`);

    const address = (network_type: string, domain: string, port: string) => ({
      network_type,
      domain,
      ip_address: "10.0.0.9",
      port,
    });
    const cases: [string, unknown, { host: string; port: string; ok: boolean }][] = [
      [
        "private preferred",
        [{ address: [address("Public", "pub.example.com", "5432"), address("Private", "priv.internal", "6432")] }],
        { host: "priv.internal", port: "6432", ok: true },
      ],
      [
        "any address otherwise",
        [{ address: [address("Inner", "inner.internal", "5433")] }],
        { host: "inner.internal", port: "5433", ok: true },
      ],
      [
        "ip when no domain",
        [{ address: [address("Private", "", "5432")] }],
        { host: "10.0.0.9", port: "5432", ok: true },
      ],
      ["nothing", [], { host: "", port: "5432", ok: false }],
    ];
    for (const [name, endpoints, expected] of cases) {
      const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-endpoints-"));
      dirs.push(dir);
      writeFileSync(
        path.join(dir, "main.tf.json"),
        JSON.stringify({
          locals: { ...locals, mock_endpoints: endpoints },
          output: {
            host: { value: `\${local.${hostLocal}}` },
            port: { value: `\${local.${portLocal}}` },
            ok: { value: condition },
          },
        }),
      );
      tf(dir, ["init", "-input=false", "-no-color"]);
      tf(dir, ["apply", "-auto-approve", "-input=false", "-no-color"]);
      const out = JSON.parse(tf(dir, ["output", "-json"])) as Record<string, { value: unknown }>;
      expect({ host: out.host!.value, port: out.port!.value, ok: out.ok!.value }, name).toEqual(expected);
    }
  }, 180_000);
});
