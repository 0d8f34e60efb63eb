import { z } from "zod";

/**
 * Rules for values the stack configuration, the cloud-init options and the server scripts all
 * carry. Defined once here; every schema reuses these (a value is never checked by two regexes
 * that could drift apart).
 */

/** A DNS name such as api.example.com: lowercase, no scheme, port or path. */
export const DNS_NAME_PATTERN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
export const dnsName = z
  .string()
  .toLowerCase()
  .regex(DNS_NAME_PATTERN, 'must be a fully qualified domain name such as "api.example.com" (no scheme, no path)');

/** TOS bucket names: 3-63 lowercase letters, digits and '-', not starting or ending with '-'. */
export const TOS_BUCKET_PATTERN = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
export const tosBucketName = z
  .string()
  .regex(
    TOS_BUCKET_PATTERN,
    "must be a TOS bucket name: 3-63 lowercase letters, digits and '-', not starting or ending with '-'",
  );

/** Volcengine region ids such as cn-beijing. */
export const regionId = z.string().regex(/^[a-z]+-[a-z0-9-]+$/, 'must be a region id such as "cn-beijing"');

/** Free text that ends up single-quoted in a shell file: no quotes, backslashes, $, backticks or spaces. */
export const SHELL_SAFE_PATTERN = /^[^'"\\$`\s]+$/;
