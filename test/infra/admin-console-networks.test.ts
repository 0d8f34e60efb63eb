import { afterAll, describe, expect, it } from "vitest";
import { baseEnvironment, cleanupSynthDirs, resources, synth } from "./synth-helpers.js";

afterAll(cleanupSynthDirs);

/** The networks Nginx serves the admin console to, as the stack tells the server (docs/admin.md). */
const hostSettings = async (env: Record<string, unknown>) => {
  const tf = (await synth({ environments: { v: env } })).stacks["todo-api-v"]!;
  const userData = Buffer.from(resources(tf, "volcengine_ecs_instance")[0]!.user_data, "base64").toString("utf8");
  return /ADMIN_CONSOLE_CIDRS='([^']*)'/.exec(userData)?.[1];
};

describe("adminConsole.allowCidrs", () => {
  it("defaults to ssh.adminCidrs, and replaces them when set", async () => {
    expect(await hostSettings(baseEnvironment())).toBe("198.51.100.7/32 203.0.113.0/28");
    expect(await hostSettings(baseEnvironment({ adminConsole: { allowCidrs: ["10.1.0.0/16"] } }))).toBe("10.1.0.0/16");
  });

  it("refuses what is not an IPv4 CIDR, and an empty list", async () => {
    await expect(hostSettings(baseEnvironment({ adminConsole: { allowCidrs: ["10.1.0.0"] } }))).rejects.toThrow(
      /adminConsole\.allowCidrs\.0/,
    );
    await expect(hostSettings(baseEnvironment({ adminConsole: { allowCidrs: [] } }))).rejects.toThrow(/adminConsole/);
  });
});
