import type { TfJson } from "../../harness/rehearse/cluster/stack.js";

/**
 * The scaling resources of `cluster.autoScaling` in the shape provider 0.0.196 takes them
 * (test/local-cloud/scaling/main.tf), added to a synthesized cluster stack that has none, for the
 * reader's and the stand-in builder's tests where the stack option is not at hand. The names of
 * the fleet interface: group `<stack>-fleet`, the app servers' role `<name>-fleet`, hooks SCALE_OUT
 * (REJECT, 900 s) and SCALE_IN (CONTINUE, 60 s).
 */
export const FLEET_USER_DATA =
  "#cloud-config\nwrite_files:\n  - path: /etc/todo-host.conf\n    content: |\n      FLEET_MEMBER='1'\n      FLEET_ENDPOINT='https://tos-s3-cn-beijing.volces.com'\n";

export function withScalingResources(tf: TfJson, name = "todo-api-cluster"): TfJson {
  const copy = structuredClone(tf) as TfJson;
  const r = copy.resource;
  const key = (type: string, prefix: string) => Object.keys(r[type]).find((k) => k.startsWith(prefix))!;
  const subnets = Object.keys(r.volcengine_subnet).filter((k) => !k.includes("lb-subnet"));
  const group = "${volcengine_scaling_group.fleet_group.id}";
  r.volcengine_iam_role.fleet_role = {
    role_name: `${name}-fleet`,
    trust_policy_document: JSON.stringify({
      Statement: [{ Effect: "Allow", Action: ["sts:AssumeRole"], Principal: { Service: ["ecs"] } }],
    }),
  };
  r.volcengine_scaling_group = {
    fleet_group: {
      scaling_group_name: `${name}-fleet`,
      subnet_ids: subnets.map((k) => `\${volcengine_subnet.${k}.id}`),
      multi_az_policy: "BALANCE",
      min_instance_number: 0,
      max_instance_number: 2,
      desire_instance_number: 1,
      default_cooldown: 60,
      instance_terminate_policy: "OldestInstance",
      server_group_attributes: [
        {
          server_group_id: `\${volcengine_server_group.${key("volcengine_server_group", "load-balancer")}.id}`,
          port: 80,
          weight: 50,
        },
      ],
    },
  };
  r.volcengine_scaling_configuration = {
    fleet_configuration: {
      scaling_group_id: group,
      scaling_configuration_name: `${name}-fleet`,
      image_id: '${try(local.servers_image_matching-ids[0], "")}',
      instance_types: ["ecs.g3il.large"],
      instance_name: `${name}-fleet`,
      security_group_ids: [
        `\${volcengine_security_group.${key("volcengine_security_group", "network_app-security-group")}.id}`,
      ],
      key_pair_name: `\${volcengine_ecs_key_pair.${key("volcengine_ecs_key_pair", "key-pair")}.key_pair_name}`,
      user_data: Buffer.from(FLEET_USER_DATA).toString("base64"),
      volumes: [{ volume_type: "ESSD_PL0", size: 40, delete_with_instance: true }],
    },
  };
  r.volcengine_scaling_configuration_attachment = {
    fleet_attachment: { scaling_configuration_id: "${volcengine_scaling_configuration.fleet_configuration.id}" },
  };
  r.volcengine_scaling_lifecycle_hook = {
    fleet_scale_out: {
      scaling_group_id: group,
      lifecycle_hook_name: "wait-for-release",
      lifecycle_hook_type: "SCALE_OUT",
      lifecycle_hook_policy: "REJECT",
      lifecycle_hook_timeout: 900,
    },
    fleet_scale_in: {
      scaling_group_id: group,
      lifecycle_hook_name: "finish-requests",
      lifecycle_hook_type: "SCALE_IN",
      lifecycle_hook_policy: "CONTINUE",
      lifecycle_hook_timeout: 60,
    },
  };
  r.volcengine_scaling_group_enabler = {
    fleet_enabler: {
      scaling_group_id: group,
      depends_on: [
        "volcengine_scaling_configuration_attachment.fleet_attachment",
        "volcengine_scaling_lifecycle_hook.fleet_scale_out",
        "volcengine_scaling_lifecycle_hook.fleet_scale_in",
      ],
    },
  };
  return copy;
}
