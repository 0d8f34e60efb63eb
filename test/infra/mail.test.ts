/**
 * The API's mail settings (v1.1: password reset, e-mail verification) reach the server through the
 * stack: `mail.from` as the plain setting MAIL_FROM, the relay's URL (it carries a password) as the
 * deploy-time secret TF_VAR_smtp_url, written by the secrets step like the JWT secret — never in
 * user data. A stack without `mail` is unchanged.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RDS, baseEnvironment, cleanupSynthDirs, resources, synth, type TfJson } from "./synth-helpers.js";
import { requireTool, terraformCommand } from "../support/tools.js";

const MAIL = { from: "no-reply@example.com" };
afterAll(cleanupSynthDirs);

function deploySteps(tf: TfJson) {
  return resources(tf, "null_resource");
}

describe("mail settings through the stack", () => {
  it("single server: MAIL_FROM as a setting, SMTP_URL from TF_VAR_smtp_url by the secrets step, both in the trigger", async () => {
    const r = await synth({ environments: { dev: baseEnvironment({ mail: MAIL }) } });
    const tf = r.stacks["todo-api-dev"]!;
    expect(tf.variable.smtp_url).toMatchObject({ type: "string", sensitive: true, default: "" });
    const [deploy] = deploySteps(tf);
    const scripts = JSON.stringify(deploy!.provisioner);
    expect(scripts).toContain("printf '%s' '${var.smtp_url}' | $SUDO /usr/local/sbin/todo-release set-env SMTP_URL");
    expect(scripts).toContain(
      "printf '%s' 'no-reply@example.com' | $SUDO /usr/local/sbin/todo-release set-env MAIL_FROM",
    );
    expect(deploy!.triggers.smtp_url_sha256).toBe("${sha256(var.smtp_url)}");
    expect(deploy!.triggers.env_settings_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(deploy!.lifecycle.precondition).toContainEqual({
      condition: '${var.smtp_url != ""}',
      error_message: expect.stringContaining("TF_VAR_smtp_url"),
    });
    // The server's first boot knows nothing of it.
    const userData = JSON.stringify(resources(tf, "volcengine_ecs_instance"));
    expect(userData).not.toContain("smtp");
  });

  it("cluster: every server's deploy step gets both, next to TRUSTED_PROXIES", async () => {
    const r = await synth({
      environments: { dev: baseEnvironment({ topology: "cluster", database: RDS, mail: MAIL }) },
    });
    const steps = deploySteps(r.stacks["todo-api-dev"]!);
    expect(steps.length).toBeGreaterThan(1);
    for (const step of steps) {
      const scripts = JSON.stringify(step.provisioner);
      expect(scripts).toContain("set-env SMTP_URL");
      expect(scripts).toContain("set-env MAIL_FROM");
      expect(scripts).toContain("set-env TRUSTED_PROXIES");
      expect(step.triggers.smtp_url_sha256).toBe("${sha256(var.smtp_url)}");
    }
  });

  it("without `mail` nothing changes: no variable, no setting, no trigger", async () => {
    const r = await synth({ environments: { dev: baseEnvironment() } });
    const tf = r.stacks["todo-api-dev"]!;
    expect(tf.variable.smtp_url).toBeUndefined();
    const [deploy] = deploySteps(tf);
    expect(JSON.stringify(deploy!.provisioner)).not.toMatch(/SMTP_URL|MAIL_FROM/);
    expect(Object.keys(deploy!.triggers)).not.toContain("smtp_url_sha256");
  });

  it("refuses a sender that is not a bare address", async () => {
    await expect(
      synth({ environments: { dev: baseEnvironment({ mail: { from: "Todo <no-reply@example.com>" } }) } }),
    ).rejects.toThrow(/mail\.from.*bare e-mail address/s);
  });

  it.skipIf(requireTool("terraform").missing)(
    "the variable's validation accepts smtp(s) URLs and refuses quotes (terraform CLI)",
    async () => {
      const r = await synth({ environments: { dev: baseEnvironment({ mail: MAIL }) } });
      const variable = r.stacks["todo-api-dev"]!.variable.smtp_url;
      const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-smtp-"));
      try {
        writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify({ variable: { smtp_url: variable } }));
        const plan = (value: string) =>
          spawnSync(terraformCommand(), ["plan", "-input=false", "-no-color"], {
            cwd: dir,
            encoding: "utf8",
            env: {
              ...process.env,
              TF_VAR_smtp_url: value,
              TF_CLI_CONFIG_FILE: "/dev/null",
              TF_IN_AUTOMATION: "1",
              CHECKPOINT_DISABLE: "1",
            },
            timeout: 60_000,
          });
        expect(
          spawnSync(terraformCommand(), ["init", "-input=false"], {
            cwd: dir,
            encoding: "utf8",
            env: { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null" },
          }).status,
        ).toBe(0);
        for (const ok of ["", "smtps://user:p%40ss@smtp.example.com:465", "smtp://relay.example.com:587"]) {
          const p = plan(ok);
          expect(p.status, `${ok}: ${p.stdout}${p.stderr}`).toBe(0);
        }
        for (const bad of ["https://smtp.example.com", "smtps://user:it's@smtp.example.com", "smtp://a b@host"]) {
          const p = plan(bad);
          expect(p.status, bad).not.toBe(0);
          expect(p.stderr).toContain("smtp_url must be");
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
