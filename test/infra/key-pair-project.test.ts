/**
 * The key pair's `project_name` is Optional but not Computed in the provider (v0.0.196), and the
 * provider's Read stores whatever DescribeKeyPairs returns. Whether the real API returns
 * `ProjectName` ("default") or leaves it out, the next plan must be clean: the stack never sets
 * it and ignores what is read back, in both topologies.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { providerMirror, terraformWithMirror } from "./provider-mirror.js";
import { RDS, baseEnvironment, cleanupSynthDirs, resources, synth, type TfJson } from "./synth-helpers.js";

afterAll(cleanupSynthDirs);

describe.each([
  ["single", baseEnvironment()],
  ["cluster", baseEnvironment({ topology: "cluster", database: RDS })],
])("%s: the key pair's project", (_topology, env) => {
  it("is not set, and a project read back from the API is ignored", async () => {
    const tf = (await synth({ environments: { dev: env } })).stacks["todo-api-dev"]!;
    const pairs = resources(tf, "volcengine_ecs_key_pair");
    expect(pairs).toHaveLength(1);
    for (const pair of pairs) {
      expect(pair.project_name).toBeUndefined();
      expect(pair.lifecycle.ignore_changes).toEqual(expect.arrayContaining(["project_name", "public_key"]));
    }
  });
});

const mirror = providerMirror();

/**
 * The real provider plans the synthesized key pair against a state holding what its Read stored
 * for each answer of DescribeKeyPairs (-refresh=false: no API call): `project_name` "default"
 * (the API returns it) or null (it does not).
 */
describe("the next plan of the key pair, with the real provider", () => {
  if (mirror.missing) {
    it.skip(`skipped: ${mirror.missing}`, () => {});
    return;
  }
  it.each([
    ["DescribeKeyPairs returns ProjectName", "default"],
    ["DescribeKeyPairs leaves it out", null],
  ])(
    "%s: no change",
    async (_answer, projectName) => {
      const tf: TfJson = (await synth({ environments: { dev: baseEnvironment() } })).stacks["todo-api-dev"]!;
      const [id, pair] = Object.entries<Record<string, unknown>>(tf.resource.volcengine_ecs_key_pair)[0]!;
      const dir = mkdtempSync(path.join(tmpdir(), "todo-tf-key-pair-"));
      const run = terraformWithMirror(mirror.path!, dir, {
        VOLCENGINE_ACCESS_KEY: "AKLTplanonly",
        VOLCENGINE_SECRET_KEY: "planonly",
        VOLCENGINE_ENDPOINT: "127.0.0.1:9",
      });
      try {
        writeFileSync(
          path.join(dir, "main.tf.json"),
          JSON.stringify({
            terraform: { required_providers: { volcengine: tf.terraform.required_providers.volcengine } },
            provider: tf.provider,
            resource: { volcengine_ecs_key_pair: { [id]: pair } },
          }),
        );
        const attributes = {
          id: "kp-plan0nly",
          key_pair_id: "kp-plan0nly",
          key_pair_name: pair.key_pair_name,
          public_key: pair.public_key,
          description: pair.description,
          finger_print: "aa:bb",
          key_file: null,
          project_name: projectName,
          tags: [],
        };
        writeFileSync(
          path.join(dir, "terraform.tfstate"),
          JSON.stringify({
            version: 4,
            terraform_version: "1.11.0",
            serial: 1,
            lineage: "5d0c0a5e-1f0e-4c51-9a57-keypair00001",
            outputs: {},
            resources: [
              {
                mode: "managed",
                type: "volcengine_ecs_key_pair",
                name: id,
                provider: 'provider["registry.terraform.io/volcengine/volcengine"]',
                instances: [{ schema_version: 0, attributes }],
              },
            ],
          }),
        );
        const init = run(["init", "-input=false", "-no-color"]);
        expect(init.status, init.stdout + init.stderr).toBe(0);
        const plan = run(["plan", "-refresh=false", "-input=false", "-no-color", "-detailed-exitcode"]);
        expect(plan.stdout + plan.stderr).toContain("No changes");
        expect(plan.status).toBe(0);
      } finally {
        run.cleanup();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
