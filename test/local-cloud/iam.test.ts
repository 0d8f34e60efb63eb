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

describe("local cloud: IAM policy documents under each answer", () => {
  const BACKUP_POLICY = {
    Statement: [
      { Effect: "Allow", Action: ["tos:PutObject", "tos:GetObject"], Resource: ["trn:tos:::b/postgres/*"] },
      { Effect: "Allow", Action: ["tos:ListBucket"], Resource: ["trn:tos:::b"] },
      {
        Effect: "Deny",
        Action: ["tos:Delete*", "tos:PutBucket*", "tos:PutLifecycleConfiguration", "tos:PutObjectACL"],
        Resource: ["trn:tos:::b", "trn:tos:::b/*"],
      },
    ],
  };
  /** Documents IAM refuses when it checks them, and why. */
  const REFUSED: [string, unknown, "policy" | "trust"][] = [
    [
      "an action no service has",
      { Statement: [{ Effect: "Allow", Action: ["tos:PutBucketLifecyle"], Resource: ["*"] }] },
      "policy",
    ],
    ["an unknown service", { Statement: [{ Effect: "Allow", Action: ["toss:GetObject"], Resource: ["*"] }] }, "policy"],
    [
      "an action that is not service:Name",
      { Statement: [{ Effect: "Allow", Action: ["GetObject"], Resource: ["*"] }] },
      "policy",
    ],
    [
      "an Effect other than Allow or Deny",
      { Statement: [{ Effect: "allow", Action: ["tos:GetObject"], Resource: ["*"] }] },
      "policy",
    ],
    [
      "a Resource that is not a TRN",
      { Statement: [{ Effect: "Allow", Action: ["tos:GetObject"], Resource: ["b/*"] }] },
      "policy",
    ],
    [
      "a Principal in a role's policy",
      { Statement: [{ Effect: "Allow", Action: ["tos:GetObject"], Resource: ["*"], Principal: { Service: ["ecs"] } }] },
      "policy",
    ],
    ["an unknown element", { Statement: [{ Effect: "Allow", Actions: ["tos:GetObject"], Resource: ["*"] }] }, "policy"],
    ["a trust policy without a Principal", { Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole"] }] }, "trust"],
    [
      "an unknown service principal",
      { Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole"], Principal: { Service: ["ec2"] } }] },
      "trust",
    ],
  ];

  for (const answer of ["unchecked", "checked"] as const) {
    it(`iamPolicyCheck=${answer}: the stack's documents pass; malformed ones are ${answer === "checked" ? "refused" : "accepted"}`, async () => {
      const local = await startLocalCloud({ transitionMs: 50, answers: { iamPolicyCheck: answer } });
      const call = (action: string, params: Record<string, unknown>) =>
        openApi(local.url, "iam", action, params, { version: "2018-01-01" });
      try {
        expect((await call("CreateRole", { RoleName: "backups", TrustPolicyDocument: trust })).status).toBe(200);
        expect(
          (await call("CreatePolicy", { PolicyName: "backups", PolicyDocument: JSON.stringify(BACKUP_POLICY) })).status,
        ).toBe(200);
        for (const [i, [why, doc, kind]] of REFUSED.entries()) {
          const r =
            kind === "trust"
              ? await call("CreateRole", { RoleName: `r${i}`, TrustPolicyDocument: JSON.stringify(doc) })
              : await call("CreatePolicy", { PolicyName: `p${i}`, PolicyDocument: JSON.stringify(doc) });
          if (answer === "checked") expect(r.body.ResponseMetadata.Error?.Code, why).toBe("MalformedPolicyDocument");
          else expect(r.status, why).toBe(200);
        }
        // Not JSON, or no statements: refused under both answers.
        expect(
          (await call("CreatePolicy", { PolicyName: "bad", PolicyDocument: "{" })).body.ResponseMetadata.Error.Code,
        ).toBe("MalformedPolicyDocument");
      } finally {
        await local.close();
      }
    });
  }

  for (const answer of ["verbatim", "normalised"] as const) {
    it(`iamPolicyDocument=${answer}: a stored document is answered ${answer === "verbatim" ? "as sent" : "re-serialised with sorted keys"}`, async () => {
      const local = await startLocalCloud({ transitionMs: 50, answers: { iamPolicyDocument: answer } });
      const call = (action: string, params: Record<string, unknown>) =>
        openApi(local.url, "iam", action, params, { version: "2018-01-01" });
      try {
        const sent = JSON.stringify(BACKUP_POLICY, null, 1);
        await call("CreatePolicy", { PolicyName: "backups", PolicyDocument: sent });
        const [stored] = (await call("ListPolicies", {})).body.Result.PolicyMetadata;
        if (answer === "verbatim") expect(stored.PolicyDocument).toBe(sent);
        else {
          expect(stored.PolicyDocument).not.toBe(sent);
          expect(JSON.parse(stored.PolicyDocument)).toEqual(BACKUP_POLICY);
          expect(stored.PolicyDocument).toMatch(/^\{"Statement":\[\{"Action":/);
        }
      } finally {
        await local.close();
      }
    });
  }
});
