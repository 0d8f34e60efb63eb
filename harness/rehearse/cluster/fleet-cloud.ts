import type { Answers } from "../../../local-cloud/answers.js";
import type { InstanceBooter } from "../../../local-cloud/booter.js";
import { type LocalCloud, startLocalCloud } from "../../../local-cloud/server.js";
import type { AutoScalingSpec, Reference, Value } from "./scaling-stack.js";
import type { TfJson } from "./stack.js";

/**
 * The local cloud's Auto Scaling, ECS and IAM, in this process, holding what `cdktf deploy` of
 * `cluster.autoScaling` creates, made from the synthesized resources (scaling-stack.ts) with the
 * calls the provider makes for them: the VPC's subnets (same CIDRs and zones as the booted VPC,
 * so ECS's private addresses are addresses of the rehearsal's bridges), the app security group,
 * the key pair, the CLB's server group, the stack's IAM roles; then the scaling group, its
 * configuration, the attachment (EnableScalingConfiguration) and the lifecycle hooks. The enabler
 * is `enable()`, called when the scenario reaches it. Instances the group launches go through
 * ECS's RunInstances to `booter` (world-booter.ts boots them; a recording one in the tests).
 *
 * The real service runs its engine on its own; the stand-in advances on Auto Scaling calls only,
 * so `tick()` (a DescribeScalingGroups) is what the scenario calls every second or so.
 *
 * Every call is signed with made-up operator credentials (the stand-in checks a signature's form,
 * not its key); the seed's calls come with its role's credentials from the servers.
 */
export interface FleetCloudOptions {
  tf: TfJson;
  scaling: AutoScalingSpec;
  booter?: InstanceBooter;
  answers?: Partial<Answers>;
  /** The stand-in's clock (tests move it); default the time of day. */
  now?: () => number;
  /** ECS's transitions (RUNNING after RunInstances); default 1 s. */
  transitionMs?: number;
  /** Moves the clock `now` reads by that much (tests); default: waits as long. */
  advance?: (ms: number) => void;
}

type Call = (service: string, action: string, params?: Record<string, unknown>) => Promise<TfJson>;

const VERSIONS: Record<string, string> = { auto_scaling: "2020-01-01", iam: "2018-01-01" };
const OPERATOR = { id: "AKLTrehearsaloperator", secret: "rehearsal-operator-secret", token: undefined };
const kitSigner = "../../../cloud-init/lib/volc-openapi.mjs";

export class FleetCloud {
  groupId = "";
  serverGroupId = "";
  configurationId = "";
  /** Stand-in id of each synthesized resource address it created. */
  readonly ids = new Map<string, string>();
  /** Role name each hook was created with → its id (the scenario logs them). */
  readonly hooks = new Map<string, string>();

  private constructor(
    readonly cloud: LocalCloud,
    private readonly call: Call,
    private readonly o: FleetCloudOptions,
  ) {}

  static async start(o: FleetCloudOptions): Promise<FleetCloud> {
    const cloud = await startLocalCloud({
      transitionMs: o.transitionMs ?? 1000,
      ...(o.now ? { now: o.now } : {}),
      ...(o.answers ? { answers: o.answers } : {}),
      ...(o.booter ? { booter: o.booter } : {}),
    });
    const { callAction } = (await import(kitSigner)) as {
      callAction(a: Record<string, unknown>): Promise<TfJson>;
    };
    const call: Call = (service, action, params = {}) =>
      callAction({
        endpoint: cloud.url,
        region: String(o.tf.provider?.volcengine?.[0]?.region ?? "cn-beijing"),
        creds: OPERATOR,
        service,
        version: VERSIONS[service] ?? "2020-04-01",
        action,
        params,
      });
    const fleet = new FleetCloud(cloud, call, o);
    try {
      await fleet.create();
    } catch (error) {
      await cloud.close();
      throw error;
    }
    return fleet;
  }

  get url(): string {
    return this.cloud.url;
  }

  private resolve(v: Value | Reference, what: string): string {
    if (typeof v === "string") return v;
    if (v.address.startsWith("volcengine_ecs_key_pair.") && v.attribute === "key_pair_name")
      return String(this.resource(v.address).key_pair_name);
    if (v.address.startsWith("volcengine_iam_role.") && v.attribute === "role_name")
      return String(this.resource(v.address).role_name);
    const id = this.ids.get(v.address);
    if (v.attribute !== "id" || !id)
      throw new Error(`${what} reads ${v.address}.${v.attribute}, which the stand-in does not hold`);
    return id;
  }

  private resource(address: string): TfJson {
    const [type, name] = address.split(".");
    const r = this.o.tf.resource?.[type!]?.[name!];
    if (!r) throw new Error(`the synthesized stack has no ${address}`);
    return r;
  }

  /** Everything but the enabler, in the order Terraform creates it. */
  private async create(): Promise<void> {
    const { tf, scaling: s } = this.o;
    const r = tf.resource;
    const [vpcKey, vpc] = Object.entries(r.volcengine_vpc ?? {})[0] as [string, TfJson];
    const vpcId = (await this.call("vpc", "CreateVpc", { CidrBlock: vpc.cidr_block, VpcName: vpc.vpc_name })).VpcId;
    this.ids.set(`volcengine_vpc.${vpcKey}`, vpcId);
    for (const [key, subnet] of Object.entries(r.volcengine_subnet ?? {}) as [string, TfJson][]) {
      const made = await this.call("vpc", "CreateSubnet", {
        VpcId: vpcId,
        ZoneId: subnet.zone_id,
        CidrBlock: subnet.cidr_block,
        SubnetName: subnet.subnet_name,
      });
      this.ids.set(`volcengine_subnet.${key}`, made.SubnetId);
    }
    for (const ref of s.configuration.securityGroups) {
      const sg = this.resource(ref.address);
      const made = await this.call("vpc", "CreateSecurityGroup", {
        VpcId: vpcId,
        SecurityGroupName: sg.security_group_name,
      });
      this.ids.set(ref.address, made.SecurityGroupId);
    }
    for (const [, kp] of Object.entries(r.volcengine_ecs_key_pair ?? {}) as [string, TfJson][])
      await this.call("ecs", "ImportKeyPair", { KeyPairName: kp.key_pair_name, PublicKey: kp.public_key });
    for (const role of s.roles)
      await this.call("iam", "CreateRole", { RoleName: role.name, TrustPolicyDocument: role.trustPolicy });
    for (const { serverGroup } of s.group.serverGroups) {
      const group = this.resource(serverGroup.address);
      const clbAddress = /^\$\{(volcengine_clb\.[^.]+)\.id\}$/.exec(String(group.load_balancer_id))?.[1];
      if (!clbAddress) throw new Error(`${serverGroup.address} is on no CLB of the stack`);
      if (!this.ids.has(clbAddress)) {
        const clb = this.resource(clbAddress);
        const subnet = this.resolve(
          { address: /\$\{(.+)\.id\}/.exec(String(clb.subnet_id))![1]!, attribute: "id" },
          clbAddress,
        );
        const made = await this.call("clb", "CreateLoadBalancer", {
          Type: clb.type ?? "public",
          LoadBalancerSpec: clb.load_balancer_spec ?? "small_1",
          SubnetId: subnet,
          LoadBalancerName: clb.load_balancer_name,
          LoadBalancerBillingType: 2,
          EipBillingConfig: { EipBillingType: 3, Bandwidth: 5, ISP: "BGP" },
        });
        this.ids.set(clbAddress, made.LoadBalancerId);
        await this.settle();
      }
      const made = await this.call("clb", "CreateServerGroup", {
        LoadBalancerId: this.ids.get(clbAddress),
        ServerGroupName: group.server_group_name,
      });
      this.ids.set(serverGroup.address, made.ServerGroupId);
      this.serverGroupId ||= made.ServerGroupId;
    }
    await this.settle();

    const g = s.group;
    this.groupId = (
      await this.call("auto_scaling", "CreateScalingGroup", {
        ScalingGroupName: g.name,
        SubnetIds: g.subnets.map((x) => this.resolve(x, g.resource)),
        MinInstanceNumber: g.min,
        MaxInstanceNumber: g.max,
        ...(g.desired === undefined ? {} : { DesireInstanceNumber: g.desired }),
        ...(g.multiAzPolicy ? { MultiAZPolicy: g.multiAzPolicy } : {}),
        ...(g.defaultCooldown === undefined ? {} : { DefaultCooldown: g.defaultCooldown }),
        ...(g.terminatePolicy ? { InstanceTerminatePolicy: g.terminatePolicy } : {}),
        ServerGroupAttributes: g.serverGroups.map((a) => ({
          ServerGroupId: this.resolve(a.serverGroup, g.resource),
          Port: a.port,
          Weight: a.weight,
        })),
      })
    ).ScalingGroupId;
    this.ids.set(g.resource, this.groupId);

    const c = s.configuration;
    const images = (await this.call("ecs", "DescribeImages", { Platform: "Debian" })).Images as TfJson[];
    const image = c.image.startsWith("image-") ? c.image : images.find((i) => i.PlatformVersion === "12")?.ImageId;
    this.configurationId = (
      await this.call("auto_scaling", "CreateScalingConfiguration", {
        ScalingGroupId: this.groupId,
        ScalingConfigurationName: c.name,
        ImageId: image,
        InstanceTypes: c.instanceTypes,
        ...(c.instanceName ? { InstanceName: c.instanceName } : {}),
        ...(c.hostName ? { HostName: c.hostName } : {}),
        SecurityGroupIds: c.securityGroups.map((x) => this.resolve(x, c.resource)),
        ...(c.keyPair ? { KeyPairName: this.resolve(c.keyPair, c.resource) } : {}),
        UserData: Buffer.from(c.userData).toString("base64"),
        Volumes: c.volumes.map((v) => ({ VolumeType: v.type, Size: v.size, DeleteWithInstance: v.deleteWithInstance })),
      })
    ).ScalingConfigurationId;
    this.ids.set(c.resource, this.configurationId);
    await this.call("auto_scaling", "EnableScalingConfiguration", {
      ScalingGroupId: this.groupId,
      ScalingConfigurationId: this.configurationId,
    });
    for (const h of s.hooks) {
      const made = await this.call("auto_scaling", "CreateLifecycleHook", {
        ScalingGroupId: this.groupId,
        LifecycleHookName: h.name,
        LifecycleHookType: h.type,
        LifecycleHookPolicy: h.policy,
        LifecycleHookTimeout: h.timeoutSeconds,
      });
      this.hooks.set(h.name, made.LifecycleHookId);
    }
  }

  /** Waits out the stand-in's transitions (a CLB being created is not yet usable). */
  private async settle(): Promise<void> {
    const ms = (this.o.transitionMs ?? 1000) + 50;
    if (this.o.advance) this.o.advance(ms);
    else await new Promise((r) => setTimeout(r, ms));
  }

  /** The enabler: the group starts launching up to its desired number. */
  async enable(): Promise<void> {
    await this.call("auto_scaling", "EnableScalingGroup", { ScalingGroupId: this.groupId });
  }

  /** Lets the engine catch up (what the real service does on its own). */
  async tick(): Promise<void> {
    await this.call("auto_scaling", "DescribeScalingGroups", { ScalingGroupIds: [this.groupId] });
  }

  async setDesired(n: number): Promise<void> {
    await this.call("auto_scaling", "ModifyScalingGroup", { ScalingGroupId: this.groupId, DesireInstanceNumber: n });
  }

  async instances(): Promise<{ InstanceId: string; Status: string }[]> {
    return (await this.call("auto_scaling", "DescribeScalingInstances", { ScalingGroupId: this.groupId }))
      .ScalingInstances;
  }

  async activities(): Promise<TfJson[]> {
    return (await this.call("auto_scaling", "DescribeScalingActivities", { ScalingGroupId: this.groupId }))
      .ScalingActivities;
  }

  /** The CLB server group's members as the stand-in holds them (instance, private address, port, weight). */
  async serverGroupMembers(): Promise<{ InstanceId: string; Ip: string; Port: number; Weight: number }[]> {
    return (await this.call("clb", "DescribeServerGroupAttributes", { ServerGroupId: this.serverGroupId })).Servers;
  }

  /** The role the ECS instance at a private address holds now (undefined: none, or no instance there). */
  roleAt(address: string): string | undefined {
    const store = this.cloud.store;
    const instance = store
      .all("ecs-instance")
      .find(
        (i) =>
          i.fields.Status !== "DELETED" &&
          (i.fields.NetworkInterfaces as TfJson[] | undefined)?.[0]?.PrimaryIpAddress === address,
      );
    if (!instance) return undefined;
    const role = store.all("instance-role").find((x) => x.fields.InstanceId === instance.id);
    return role ? String(role.fields.RoleName) : undefined;
  }

  /** The ECS instance's private address (for naming its container and its metadata). */
  addressOf(instanceId: string): string | undefined {
    const i = this.cloud.store.get("ecs-instance", instanceId);
    return (i?.fields.NetworkInterfaces as TfJson[] | undefined)?.[0]?.PrimaryIpAddress;
  }

  close(): Promise<void> {
    return this.cloud.close();
  }
}
