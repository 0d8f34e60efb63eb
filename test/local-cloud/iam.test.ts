import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCloud, type LocalCloud } from "../../local-cloud/server.js";
import { openApi } from "./client.js";

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({ transitionMs: 50 });
});
afterAll(() => cloud.close());

const iam = (action: string, params: Record<string, unknown> = {}) =>
  openApi(cloud.url, "iam", action, params, { version: "2018-01-01" });
const trust = JSON.stringify({
  Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole"], Principal: { Service: ["ecs"] } }],
});
const policy = JSON.stringify({
  Statement: [{ Effect: "Allow", Action: ["tos:GetObject"], Resource: ["trn:tos:::b/*"] }],
});

describe("local cloud: IAM", () => {
  it("creates a role with a numeric RoleId and answers 'not exist' once it is gone", async () => {
    const created = await iam("CreateRole", { RoleName: "r1", TrustPolicyDocument: trust, MaxSessionDuration: 3600 });
    expect(created.status).toBe(200);
    expect(typeof created.body.Result.Role.RoleId).toBe("number");
    expect((await iam("GetRole", { RoleName: "r1" })).body.Result.Role).toMatchObject({
      RoleName: "r1",
      TrustPolicyDocument: trust,
    });
    expect(
      (await iam("CreateRole", { RoleName: "r1", TrustPolicyDocument: trust })).body.ResponseMetadata.Error.Code,
    ).toBe("EntityAlreadyExists.Role");
    expect((await iam("DeleteRole", { RoleName: "r1" })).status).toBe(200);
    const gone = await iam("GetRole", { RoleName: "r1" });
    expect(gone.status).toBe(404);
    expect(gone.body.ResponseMetadata.Error.Message).toContain("not exist");
  });

  it("refuses a policy document that is not JSON with statements", async () => {
    const r = await iam("CreatePolicy", { PolicyName: "p0", PolicyDocument: "{not json" });
    expect(r.body.ResponseMetadata.Error.Code).toBe("MalformedPolicyDocument");
  });

  it("keeps a role and policy while they are attached, lets them go once detached", async () => {
    await iam("CreateRole", { RoleName: "r2", TrustPolicyDocument: trust });
    await iam("CreatePolicy", { PolicyName: "p2", PolicyDocument: policy });
    expect((await iam("AttachRolePolicy", { RoleName: "r2", PolicyName: "p2", PolicyType: "Custom" })).status).toBe(
      200,
    );
    expect((await iam("ListAttachedRolePolicies", { RoleName: "r2" })).body.Result.AttachedPolicyMetadata).toEqual([
      expect.objectContaining({ PolicyName: "p2", PolicyType: "Custom" }),
    ]);
    expect((await iam("DeleteRole", { RoleName: "r2" })).body.ResponseMetadata.Error.Code).toBe(
      "DeleteConflict.Role.Policy",
    );
    expect((await iam("DeletePolicy", { PolicyName: "p2" })).body.ResponseMetadata.Error.Code).toBe(
      "DeleteConflict.Policy",
    );
    expect((await iam("DetachRolePolicy", { RoleName: "r2", PolicyName: "p2", PolicyType: "Custom" })).status).toBe(
      200,
    );
    expect((await iam("DeletePolicy", { PolicyName: "p2" })).status).toBe(200);
    expect((await iam("DeleteRole", { RoleName: "r2" })).status).toBe(200);
  });
});
