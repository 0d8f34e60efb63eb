/**
 * "Keep the backups" on destroy: the output that takes the bucket and its expiry rule out of the
 * state says what a versioned bucket needs before TOS deletes it (every version and delete marker
 * removed: provider 0.0.196 has no rule for expired delete markers), and docs/deploy.md does not
 * promise a bucket that empties itself.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { baseEnvironment, cleanupSynthDirs, projectRoot, synth } from "./synth-helpers.js";

afterAll(cleanupSynthDirs);

describe("keeping the backups on destroy", () => {
  it("the keep_backups_command output names the bucket and its rule, and the delete markers", async () => {
    const tf = (await synth({ environments: { dev: baseEnvironment() } })).stacks["todo-api-dev"]!;
    const output = tf.output.keep_backups_command;
    expect(output.value).toMatch(
      /^terraform state rm volcengine_tos_bucket\.\S+ volcengine_tos_bucket_lifecycle\.\S+$/,
    );
    expect(output.description).toContain("every object version and every delete marker");
  });

  it("docs/deploy.md says the kept bucket never empties by itself", () => {
    const doc = readFileSync(path.join(projectRoot, "docs/deploy.md"), "utf8");
    expect(doc).not.toContain("delete the (then empty) bucket");
    expect(doc).toContain("never becomes empty by\n  itself");
    expect(doc).toContain("**and every delete marker**");
  });
});
