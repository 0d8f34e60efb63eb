/**
 * The alert webhook's URL (it carries a chat bot's token) and the load balancer certificate's
 * private key are in neither the synthesized cdk.tf.json nor the text of a plan: the webhook is the
 * sensitive variable `alert_webhook` (TF_VAR_alert_webhook), the key is read at plan time through
 * `sensitive(...)`. The plans are made by the real Terraform CLI on the stack's own variables,
 * locals and expressions (test/infra/terraform-stand-in.ts).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CERT } from "./address-variants.js";
import { hasTerraform, standIn, TerraformDir } from "./terraform-stand-in.js";
import { RDS, baseEnvironment, cleanupSynthDirs, resources, synth, type TfJson } from "./synth-helpers.js";

const TOKEN = "b0t-t0ken-5e1f9a";
const WEBHOOK = `https://open.example.com/open-apis/bot/v2/hook/${TOKEN}`;
const KEY_MARK = "SENTINEL-PRIVATE-KEY-c4e2";

let keyDir: string;
let cluster: TfJson;
beforeAll(async () => {
  keyDir = mkdtempSync(path.join(tmpdir(), "todo-cert-"));
  writeFileSync(path.join(keyDir, "fullchain.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  writeFileSync(
    path.join(keyDir, "privkey.pem"),
    `-----BEGIN PRIVATE KEY-----\n${KEY_MARK}\n-----END PRIVATE KEY-----\n`,
  );
  const r = await synth({
    environments: {
      prod: baseEnvironment({
        topology: "cluster",
        database: RDS,
        alerts: { email: "ops@example.com", webhook: true },
        cluster: {
          certificate: {
            ...CERT,
            certificatePath: path.join(keyDir, "fullchain.pem"),
            privateKeyPath: path.join(keyDir, "privkey.pem"),
          },
        },
      }),
    },
  });
  cluster = r.stacks["todo-api-prod"]!;
});
afterAll(() => {
  cleanupSynthDirs();
  rmSync(keyDir, { recursive: true, force: true });
});

describe("secrets in the synthesized JSON", () => {
  it("every CloudMonitor rule and deploy step takes the webhook from the sensitive variable", () => {
    expect(cluster.variable.alert_webhook).toMatchObject({ sensitive: true, default: "" });
    const rules = resources(cluster, "volcengine_cloud_monitor_rule");
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule.web_hook).toBe("${var.alert_webhook}");
    for (const step of resources(cluster, "null_resource")) {
      expect(step.triggers.alert_webhook_sha256).toBe("${sha256(var.alert_webhook)}");
    }
  });

  it("the certificate's private key is read through sensitive(), the public one is not", () => {
    const locals = Object.entries<string>(cluster.locals);
    const key = locals.find(([name]) => name.includes("certificate-key"));
    const pem = locals.find(([name]) => name.includes("certificate-pem"));
    expect(key?.[1]).toMatch(/^\$\{sensitive\(try\(file\(/);
    expect(pem?.[1]).toMatch(/^\$\{try\(file\(/);
    expect(JSON.stringify(cluster)).not.toContain(KEY_MARK);
  });
});

describe.skipIf(!hasTerraform)("secrets in the text of a real plan", () => {
  const dir = new TerraformDir();
  beforeAll(() => {
    dir.write(
      standIn(cluster, {
        volcengine_cloud_monitor_rule: (b) => ({ web_hook: b.web_hook }),
        volcengine_certificate: (b) => ({ public_key: b.public_key, private_key: b.private_key }),
        null_resource: (b) => ({ alert_webhook_sha256: (b.triggers as Record<string, string>).alert_webhook_sha256 }),
      }),
    );
    expect(dir.init().status).toBe(0);
  });
  afterAll(() => dir.dispose());

  it("prints neither the webhook's token nor the private key", () => {
    const plan = dir.plan({ TF_VAR_alert_webhook: WEBHOOK });
    expect(plan.stderr).toBe("");
    expect(plan.status).toBe(0);
    expect(plan.stdout).toContain("terraform_data.volcengine_cloud_monitor_rule__");
    expect(plan.stdout).toContain("(sensitive value)");
    expect(plan.stdout).not.toContain(TOKEN);
    expect(plan.stdout).not.toContain(KEY_MARK);
    expect(plan.stdout).toContain("BEGIN CERTIFICATE"); // the public half stays readable
  });

  it("refuses a URL the secrets script could not quote, by the variable's validation", () => {
    const plan = dir.plan({ TF_VAR_alert_webhook: "https://hooks.example.com/a'b" });
    expect(plan.status).not.toBe(0);
    expect(plan.stderr).toContain("alert_webhook must be an https:// URL without quotes");
    const template = dir.plan({ TF_VAR_alert_webhook: "https://hooks.example.com/%{x}" });
    expect(template.status).not.toBe(0);
  });

  it("computes the same trigger hash the stack wrote when the URL was in the configuration (no redeploy on the move)", () => {
    const r = dir.run(["console"], { TF_VAR_alert_webhook: WEBHOOK }, "nonsensitive(sha256(var.alert_webhook))\n");
    expect(r.stderr, r.stdout).toBe("");
    expect(r.stdout.match(/"([0-9a-f]{64})"/)?.[1], r.stdout).toBe(createHash("sha256").update(WEBHOOK).digest("hex"));
  });
});
