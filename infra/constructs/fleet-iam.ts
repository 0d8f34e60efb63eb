import { TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { IamPolicy } from "../../.gen/providers/volcengine/iam-policy/index.js";
import { IamRole } from "../../.gen/providers/volcengine/iam-role/index.js";
import { IamRolePolicyAttachment } from "../../.gen/providers/volcengine/iam-role-policy-attachment/index.js";
import { FLEET_PREFIX } from "../../contract/fleet.js";
import { ECS_TRUST_POLICY, ROLE_PROPAGATION_MS } from "./backup-role.js";
import { apiDescription } from "./description.js";
import { tagBlocks } from "./tags.js";
import { TerraformData } from "./terraform-data.js";

/**
 * The tag the scaling configuration puts on every server the group starts (value: the stack's
 * name), and the condition the seed's policy sets on associating a role: only with those servers.
 */
export const FLEET_TAG = "todo-fleet";

/** Name of the role of the group's servers when there is no files role to reuse. */
export function fleetRoleName(name: string): string {
  return `${name}-fleet`;
}

/**
 * What the seed (the first fixed server, with the backup role) may do, as narrow as the design
 * allows (docs/auto-scaling.md, "What the seed's role may do"): the Auto Scaling calls on the one
 * group's TRN; the two describe calls of ECS (they take no resource); associating the app servers'
 * role, by its TRN, only with instances carrying the fleet tag; and writing the fleet's releases.
 * The TRN forms of Auto Scaling and ECS and the tag condition are Volcengine's documented grammar
 * but untried against real IAM; the account is `*` (the stack does not know its account id, and
 * the group id and role name are unique to it anyway).
 */
export function seedPolicyDocument(p: {
  region: string;
  groupId: string;
  appRoleName: string;
  bucketName: string;
  fleetTagValue: string;
}): string {
  return JSON.stringify({
    Statement: [
      {
        Effect: "Allow",
        Action: [
          "auto_scaling:DescribeScalingInstances",
          "auto_scaling:DescribeLifecycleActivities",
          "auto_scaling:CompleteLifecycleActivity",
        ],
        Resource: [`trn:auto_scaling:${p.region}:*:scalinggroup/${p.groupId}`],
      },
      {
        Effect: "Allow",
        Action: ["ecs:DescribeInstances", "ecs:DescribeInstancesIamRoles"],
        Resource: ["*"],
      },
      {
        Effect: "Allow",
        Action: ["ecs:AssociateInstancesIamRole"],
        Resource: [`trn:ecs:${p.region}:*:instance/*`, `trn:iam::*:role/${p.appRoleName}`],
        Condition: { StringEquals: { [`volc:ResourceTag/${FLEET_TAG}`]: p.fleetTagValue } },
      },
      {
        Effect: "Allow",
        Action: ["tos:PutObject"],
        Resource: [`trn:tos:::${p.bucketName}/${FLEET_PREFIX}*`],
      },
    ],
  });
}

/** What the group's servers may do in the backup bucket: read the fleet's releases, nothing else. */
export function fleetReadPolicyDocument(bucketName: string): string {
  return JSON.stringify({
    Statement: [{ Effect: "Allow", Action: ["tos:GetObject"], Resource: [`trn:tos:::${bucketName}/${FLEET_PREFIX}*`] }],
  });
}

export interface FleetAccessProps {
  /** Prefix of every resource name, e.g. "todo-api-dev". */
  readonly name: string;
  readonly region: string;
  /** The scaling group the seed admits servers of. */
  readonly groupId: string;
  /** The backup bucket, where `fleet/` lives. */
  readonly bucketName: string;
  /** The role the seed (the first fixed server) holds: the backup role. */
  readonly seedRole: IamRole;
  /**
   * The role the group's servers get from the seed: the files role when files are on.
   * @default - a new role `<name>-fleet`, trusted by ECS
   */
  readonly memberRole?: IamRole;
  /**
   * The name `memberRole` was created with (the seed's policy names it).
   * @default - `<name>-fleet`, the new role's
   */
  readonly memberRoleName?: string;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The fleet's IAM: the seed's policy on the backup role, the group's servers' role (the files role,
 * or a new one) and its read policy. Policies follow the backup role's pattern (backup-role.ts):
 * never compared with what IAM reads back; a change of the wanted document replaces the policy and
 * its attachment.
 */
export class FleetAccess extends Construct {
  /** The role the seed associates with each new server. */
  readonly memberRoleName: string;
  /** The policy attachments: the seed's first pass needs them. */
  readonly ready: IamRolePolicyAttachment[] = [];

  constructor(scope: Construct, id: string, props: FleetAccessProps) {
    super(scope, id);
    let memberRole = props.memberRole;
    const waitFor: TerraformData[] = [];
    if (!memberRole) {
      memberRole = new IamRole(this, "role", {
        roleName: fleetRoleName(props.name),
        displayName: `${props.name} fleet`,
        description: apiDescription(`Lets the servers of ${props.name}'s scaling group read the current release`),
        trustPolicyDocument: ECS_TRUST_POLICY,
        maxSessionDuration: 3600,
        tags: tagBlocks(props.tags),
      });
      // IAM is eventually consistent: attach a policy to a role created a moment ago after a wait.
      waitFor.push(
        new TerraformData(this, "role-propagation", {
          triggersReplace: { role: memberRole.id },
          provisioners: [
            {
              type: "local-exec",
              command: `setTimeout(() => {}, ${ROLE_PROPAGATION_MS})`,
              interpreter: ["node", "-e"],
            },
          ],
        }),
      );
    }
    const memberRoleName = props.memberRole ? props.memberRoleName : fleetRoleName(props.name);
    if (!memberRoleName) throw new Error("FleetAccess: memberRoleName is required with memberRole");
    this.memberRoleName = memberRoleName;

    this.policy("seed", {
      role: props.seedRole,
      policyName: `${props.name}-fleet-seed`,
      description: `Admit the servers of scaling group ${props.name}-fleet and publish releases to ${props.bucketName}/${FLEET_PREFIX}`,
      document: seedPolicyDocument({
        region: props.region,
        groupId: props.groupId,
        // The name as written (not the role's attribute): the document stays a literal to compare.
        appRoleName: memberRoleName,
        bucketName: props.bucketName,
        fleetTagValue: props.name,
      }),
      waitFor: [],
    });
    this.policy("read", {
      role: memberRole,
      policyName: `${props.name}-fleet-read`,
      description: `Read the current release under ${props.bucketName}/${FLEET_PREFIX} only`,
      document: fleetReadPolicyDocument(props.bucketName),
      waitFor,
    });
  }

  private policy(
    id: string,
    p: { role: IamRole; policyName: string; description: string; document: string; waitFor: TerraformData[] },
  ): void {
    const wanted = new TerraformData(this, `${id}-policy-document`, { input: { document: p.document } });
    const wantedAddress = `${wanted.terraformResourceType}.${wanted.friendlyUniqueId}`;
    const policy = new IamPolicy(this, `${id}-policy`, {
      policyName: p.policyName,
      description: apiDescription(p.description),
      policyDocument: p.document,
      lifecycle: { ignoreChanges: ["policy_document"], replaceTriggeredBy: [wantedAddress] },
    });
    const policyAddress = `${policy.terraformResourceType}.${policy.friendlyUniqueId}`;
    TerraformStack.of(this).addOverride(`check.fleet_${id}_policy_current`, {
      assert: [
        {
          condition: `\${jsondecode(${policyAddress}.policy_document) == jsondecode(${wantedAddress}.output.document)}`,
          error_message: `The policy ${p.policyName} in IAM is not the one this stack wants. Replace it once, in cdktf.out/stacks/<stack>: terraform apply -replace=${policyAddress} (docs/auto-scaling.md).`,
        },
      ],
    });
    this.ready.push(
      new IamRolePolicyAttachment(this, `${id}-role-policy`, {
        roleName: p.role.roleName,
        policyName: policy.policyName,
        policyType: "Custom",
        lifecycle: { replaceTriggeredBy: [wantedAddress] },
        dependsOn: p.waitFor,
      }),
    );
  }
}
