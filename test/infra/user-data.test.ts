import { TerraformStack, Testing } from "cdktf";
import { describe, expect, it } from "vitest";
import { infra, TEST_PUBLIC_KEY } from "./synth-helpers.js";

describe("user data limit", () => {
  it("encodes up to 16 KB and refuses more with a clear message", async () => {
    await infra(); // bindings first
    const { encodeUserData, USER_DATA_LIMIT_BYTES, UserDataTooLargeError } = await import(
      "../../infra/constructs/user-data.js"
    );
    const atLimit = `#cloud-config\n#${"x".repeat(USER_DATA_LIMIT_BYTES - 16)}\n`;
    expect(Buffer.byteLength(atLimit)).toBe(USER_DATA_LIMIT_BYTES);
    expect(Buffer.from(encodeUserData(atLimit, "t"), "base64").toString()).toBe(atLimit);
    // Multi-byte characters count as bytes, not characters.
    const over = `${atLimit.slice(0, -2)}é\n`;
    expect(() => encodeUserData(over, "todo-api-dev")).toThrow(UserDataTooLargeError);
    expect(() => encodeUserData(over, "todo-api-dev")).toThrow(
      /^User data for todo-api-dev is 16385 bytes; ECS accepts at most 16384 bytes \(before base64\)\. Shrink the cloud-config/,
    );
  });

  it("makes TodoServer (and so synth) fail before any Terraform is written", async () => {
    await infra();
    const { TodoServer } = await import("../../infra/constructs/todo-server.js");
    const app = Testing.app();
    const stack = new TerraformStack(app, "t");
    expect(
      () =>
        new TodoServer(stack, "server", {
          name: "todo-api-dev",
          zone: "cn-beijing-a",
          instanceType: "ecs.c3i.large",
          image: { id: "image-abc" },
          systemDisk: { type: "ESSD_PL0", sizeGb: 40 },
          subnetId: "subnet-1",
          securityGroupId: "sg-1",
          sshPublicKey: TEST_PUBLIC_KEY,
          cloudConfig: `#cloud-config\n${"# padding\n".repeat(2000)}`,
          eip: { billingType: "PostPaidByTraffic", bandwidthMbps: 5, isp: "BGP" },
          tags: {},
        }),
    ).toThrow(/User data for todo-api-dev is 20014 bytes; ECS accepts at most 16384 bytes/);
  });
});
