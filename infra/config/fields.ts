import { isIP } from "node:net";
import { z } from "zod";

/** The stack configuration's field types that several of its sections share (schema.ts, cluster-schema.ts). */

export const name = (what: string) =>
  z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,20}$/,
      `${what}: lowercase letters, digits and "-", starting with a letter, at most 21 characters`,
    );

/** IPv4 CIDR such as 203.0.113.7/32. Bare addresses are not accepted to avoid ambiguity. */
export const ipv4Cidr = z.string().refine(
  (v) => {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(v);
    return !!m && isIP(m[1]!) === 4 && Number(m[2]) <= 32;
  },
  { message: 'must be an IPv4 CIDR such as "203.0.113.7/32" (your public IP followed by /32)' },
);

export const sshPublicKey = z
  .string()
  .trim()
  .regex(
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/,
    'must be one OpenSSH public key line ("ssh-ed25519 AAAA... you@laptop"), not a private key',
  );

/** A local path Terraform reads at apply time; it ends up inside an HCL expression. */
export const localPath = z
  .string()
  .min(1)
  .refine((p) => !/["\\\r\n]|\$\{|%\{/.test(p), 'must not contain quotes, backslashes, "${" or "%{"');

export const tagKey = z
  .string()
  .regex(/^[A-Za-z0-9_.:/=+\-@ ]{1,128}$/, "tag keys: 1-128 letters, digits, spaces or _.:/=+-@");

export const imageId = z.string().regex(/^image-[a-z0-9]+$/, 'must look like "image-ybqi99s7yq8rx7mnk44b"');

/**
 * Either a public image looked up with the volcengine_images data source by platform and version
 * prefix (matched against the image's platform_version or name, e.g. "24.04", "12"), or an
 * explicit image id (from the ECS console), which skips the lookup.
 */
export const imageSchema = z
  .strictObject({
    id: imageId.optional(),
    platform: z.enum(["Ubuntu", "Debian"]).optional(),
    version: z
      .string()
      .regex(/^[0-9][0-9.]*$/, 'must be a version such as "24.04" or "12"')
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.id !== undefined && (v.platform !== undefined || v.version !== undefined)) {
      ctx.addIssue({ code: "custom", message: 'set either "id" or "platform" + "version", not both' });
    } else if (v.id === undefined && (v.platform === undefined || v.version === undefined)) {
      ctx.addIssue({
        code: "custom",
        message:
          'set "platform" and "version" (e.g. { "platform": "Ubuntu", "version": "24.04" }) or an explicit { "id": "image-..." }',
      });
    }
  })
  .transform((v): { id: string } | { platform: "Ubuntu" | "Debian"; version: string } =>
    v.id !== undefined ? { id: v.id } : { platform: v.platform!, version: v.version! },
  );

export const zoneId = z.string().regex(/^[a-z]+-[a-z0-9-]+$/, 'must be a zone id such as "cn-beijing-a"');
export const instanceType = z
  .string()
  .regex(/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/, 'must be an ECS instance type such as "ecs.c3i.large"');

/** Most bandwidth the EIP API accepts per billing type (provider v0.0.196: "1~500 for PostPaidByBandwidth, 1~200 for PostPaidByTraffic"). */
export const EIP_MAX_BANDWIDTH_MBPS = { PostPaidByBandwidth: 500, PostPaidByTraffic: 200 } as const;

export const eipSchema = z
  .strictObject({
    billingType: z.enum(["PostPaidByTraffic", "PostPaidByBandwidth"]).default("PostPaidByTraffic"),
    bandwidthMbps: z.number().int().min(1).max(500).default(5),
    isp: z.enum(["BGP", "ChinaMobile", "ChinaUnicom", "ChinaTelecom"]).default("BGP"),
  })
  .superRefine((eip, ctx) => {
    const max = EIP_MAX_BANDWIDTH_MBPS[eip.billingType];
    // Above 500 the number check has said so already.
    if (eip.bandwidthMbps > max && eip.bandwidthMbps <= EIP_MAX_BANDWIDTH_MBPS.PostPaidByBandwidth)
      ctx.addIssue({
        code: "custom",
        path: ["bandwidthMbps"],
        message: `at most ${max} Mbps with ${eip.billingType} billing (the API refuses more); choose PostPaidByBandwidth for up to 500`,
      });
  })
  .prefault({});
