/**
 * The server's own alerts (issue #17) reach the `alerts` receivers through the stack: the e-mail
 * as the host setting ALERT_EMAIL (not a secret), the webhook as a secret (the sensitive variable
 * `alert_webhook`) — only through the deploy step's secrets script into todo-alert's root-only
 * file, its Terraform-computed hash in the deploy trigger, never in the user data or the app's env
 * file.
 */
import { tmpdir } from "node:os";
import { mkdtempSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  HTTPS,
  RDS,
  baseEnvironment,
  cleanupSynthDirs,
  fakeRelease,
  infra,
  projectRoot,
  resources,
  synth,
  type TfJson,
} from "./synth-helpers.js";

const WEBHOOK_SCRIPT = "printf '%s' '${var.alert_webhook}' | $SUDO /usr/local/sbin/todo-alert set-webhook";
afterAll(cleanupSynthDirs);

const userData = (tf: TfJson) =>
  resources(tf, "volcengine_ecs_instance")
    .map((i) => Buffer.from(String(i.user_data), "base64").toString("utf8"))
    .join("\n");
const steps = (tf: TfJson) => resources(tf, "null_resource");

describe("alert receivers through the stack", () => {
  it("single server: the webhook by the secrets step, its hash in the trigger, the e-mail as a host setting", async () => {
    const r = await synth({
      environments: {
        dev: baseEnvironment({
          https: HTTPS,
          alerts: { email: "oncall@example.com", webhook: true },
          mail: { from: "no-reply@example.com" },
        }),
      },
    });
    const tf = r.stacks["todo-api-dev"]!;
    const [deploy] = steps(tf);
    expect(deploy!.triggers.alert_webhook_sha256).toBe("${sha256(var.alert_webhook)}");
    const scripts = (deploy!.provisioner as { "remote-exec"?: { inline: string[] } }[]).flatMap(
      (p) => p["remote-exec"]?.inline ?? [],
    );
    expect(scripts.join("\n")).toContain(WEBHOOK_SCRIPT);
    expect(scripts.join("\n")).not.toMatch(/set-env ALERT/);
    expect(scripts.join("\n")).toContain("ALERT_EMAIL='oncall@example.com'");
    const boot = userData(tf);
    expect(boot).toContain("#cloud-config");
    expect(boot).not.toContain("alert_webhook");
  });

  it("a webhook adds its hash to the trigger (a changed URL redeploys); no webhook, no trigger key", async () => {
    const hashOf = async (alerts: Record<string, unknown> | undefined) => {
      const r = await synth({ environments: { dev: baseEnvironment(alerts ? { alerts } : {}) } });
      return steps(r.stacks["todo-api-dev"]!)[0]!.triggers as Record<string, string>;
    };
    const a = await hashOf({ email: "oncall@example.com", webhook: true });
    const none = await hashOf({ email: "oncall@example.com" });
    const off = await hashOf({ email: "oncall@example.com", webhook: false });
    // Terraform hashes the variable's value: a new URL is a new trigger value.
    expect(a.alert_webhook_sha256).toBe("${sha256(var.alert_webhook)}");
    expect(off.alert_webhook_sha256).toBeUndefined();
    expect(none.alert_webhook_sha256).toBeUndefined();
    expect(a.host_settings_sha256).toBe(none.host_settings_sha256);
  });

  it("without `alerts` the host settings are those of the previous version; the webhook is removed from the server", async () => {
    const r = await synth({ environments: { dev: baseEnvironment() } });
    const [deploy] = steps(r.stacks["todo-api-dev"]!);
    const scripts = JSON.stringify(deploy!.provisioner);
    expect(scripts).not.toContain("ALERT_EMAIL");
    expect(scripts).toContain("printf '%s' '' | $SUDO /usr/local/sbin/todo-alert set-webhook");
    expect(deploy!.triggers.alert_webhook_sha256).toBeUndefined();
  });

  it("cluster: every server's deploy step gets the webhook and the e-mail", async () => {
    const r = await synth({
      environments: {
        dev: baseEnvironment({
          topology: "cluster",
          database: RDS,
          alerts: { email: "oncall@example.com", webhook: true },
        }),
      },
    });
    const tf = r.stacks["todo-api-dev"]!;
    const all = steps(tf);
    expect(all.length).toBeGreaterThan(1);
    for (const step of all) {
      expect(JSON.stringify(step.provisioner)).toContain("todo-alert set-webhook");
      expect(JSON.stringify(step.provisioner)).toContain("ALERT_EMAIL='oncall@example.com'");
      expect(step.triggers.alert_webhook_sha256).toBe("${sha256(var.alert_webhook)}");
    }
    expect(userData(tf)).not.toContain("alert_webhook");
  });

  it("alerts.email without `mail`: a synth-time warning that the server's alerts reach the webhook only", async () => {
    const { parseStackConfig, buildApp } = await infra();
    const outdir = mkdtempSync(path.join(tmpdir(), "todo-infra-alerts-"));
    const warnings = (alerts: Record<string, unknown>, mail?: Record<string, unknown>) => {
      const config = parseStackConfig(
        {
          project: "todo-api",
          state: { backend: "local" },
          environments: { dev: baseEnvironment({ alerts, ...(mail ? { mail } : {}) }) },
        },
        { source: path.join(projectRoot, "stack.config.json"), env: {} },
      );
      const { stacks } = buildApp({ config, release: fakeRelease(outdir, "0123456789ab"), outdir });
      return stacks[0]!.node.metadata.filter((m) => m.type === "@cdktf/warn").map((m) => String(m.data));
    };
    const [warning] = warnings({ email: "oncall@example.com", webhook: true });
    expect(warning).toContain("alerts.email (oncall@example.com) receives CloudMonitor's alarms only");
    expect(warning).toContain("They reach alerts.webhook only.");
    expect(warnings({ email: "oncall@example.com" })[0]).toContain("they reach nobody");
    expect(warnings({ email: "oncall@example.com" }, { from: "no-reply@example.com" })).toEqual([]);
  });

  it("a webhook URL written into the configuration is refused, naming the variable it belongs in", async () => {
    await expect(
      synth({
        environments: {
          dev: baseEnvironment({ alerts: { email: "oncall@example.com", webhook: "https://hooks.example.com/t0ken" } }),
        },
      }),
    ).rejects.toThrow(/alerts\.webhook: the webhook URL is a secret.*TF_VAR_alert_webhook/s);
  });
});
