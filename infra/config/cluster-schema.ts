import { z } from "zod";
import { dnsName } from "../../contract/validation.js";
import { eipSchema, instanceType, localPath, zoneId } from "./fields.js";

/**
 * An Auto Scaling group on top of the fixed servers (docs/auto-scaling.md): the group's servers
 * boot from the same user data, pull the current release from the backup bucket and join the load
 * balancer's server group. Absent: no group, and the stack is exactly what it was without it.
 */
export const autoScalingSchema = z
  .strictObject({
    /** Fewest servers the group keeps (besides the fixed `servers`). */
    minServers: z.number().int().min(0, "at least 0").max(20, "at most 20").default(0),
    /** Most servers the group may start. */
    maxServers: z
      .number()
      .int()
      .min(1, "at least 1 (a group that may start no server scales nothing)")
      .max(20, "at most 20"),
    /** How many servers the group runs now; default `minServers`. */
    desiredServers: z.number().int().min(0, "at least 0").max(20, "at most 20").optional(),
    /** Instance type of the group's servers; default the environment's `instanceType`. */
    instanceType: instanceType.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.maxServers < a.minServers)
      ctx.addIssue({
        code: "custom",
        path: ["maxServers"],
        message: `must be at least minServers (${a.minServers})`,
      });
    else if (a.desiredServers !== undefined && (a.desiredServers < a.minServers || a.desiredServers > a.maxServers))
      ctx.addIssue({
        code: "custom",
        path: ["desiredServers"],
        message: `must be between minServers (${a.minServers}) and maxServers (${a.maxServers})`,
      });
  });

/**
 * Settings of the load-balanced topology (used only with `"topology": "cluster"`; see
 * docs/scale-out.md). The servers are spread over `zone` and the second zone.
 */
export const clusterSchema = z
  .strictObject({
    /** App servers behind the load balancer, alternating between the two zones. */
    servers: z.number().int().min(2, "a cluster needs at least 2 servers").max(20).default(2),
    /** Zone of every second server; defaults to database.secondaryZone. Must differ from `zone`. */
    secondZone: zoneId.optional(),
    loadBalancer: z
      .strictObject({
        /** CLB specification (capacity); see Volcengine's CLB documentation for the limits of each. */
        spec: z.enum(["small_1", "small_2", "medium_1", "medium_2", "large_1", "large_2"]).default("small_1"),
        /** Billing of the load balancer's public IP (the address clients connect to). */
        eip: eipSchema,
      })
      .prefault({}),
    /**
     * HTTPS at the load balancer with your own certificate: PEM files on the deploying machine,
     * read by Terraform at apply time (never committed, never in user data; they are stored in
     * the Terraform state).
     */
    certificate: z
      .strictObject({
        domain: dnsName,
        certificatePath: localPath,
        privateKeyPath: localPath,
      })
      .optional(),
    /** The app servers have no public IP; they reach the Internet (apt, Node.js) through NAT. */
    natGateway: z.strictObject({ spec: z.enum(["Small", "Medium", "Large"]).default("Small") }).prefault({}),
    /** The SSH jump host; defaults to the app servers' instance type (choose a smaller one if you like). */
    bastion: z.strictObject({ instanceType: instanceType.optional() }).prefault({}),
    /** A scaling group on top of the fixed servers (docs/auto-scaling.md); absent: none. */
    autoScaling: autoScalingSchema.optional(),
  })
  .prefault({});
