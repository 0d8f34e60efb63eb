import { ApiError } from "./errors.js";

/**
 * API rules the Volcengine docs state for names and descriptions (VPC CreateVpc, CreateSecurityGroup,
 * AllocateEipAddress, RunInstances: "must start with a letter, a Chinese character or a digit and may
 * contain only Chinese characters, letters, digits, `.` space `_` `-` `=` `,` `，` `。`, up to 255").
 * The same rule is applied to every service's Description here (docs/local-cloud.md, choices table).
 */
const DESCRIPTION = /^[\p{Script=Han}A-Za-z0-9][\p{Script=Han}A-Za-z0-9._ =,\-，。]*$/u;

export function checkDescription(value: string | undefined, param = "Description"): void {
  if (value === undefined || value === "") return;
  if (value.length > 255)
    throw new ApiError(400, `InvalidParameter.${param}.Malformed`, `The ${param} exceeds 255 characters.`);
  if (!DESCRIPTION.test(value)) {
    const bad = [...new Set([...value].filter((c) => !/[\p{Script=Han}A-Za-z0-9._ =,\-，。]/u.test(c)))].join("");
    throw new ApiError(
      400,
      `InvalidParameter.${param}.Malformed`,
      `The specified ${param} "${value}" is malformed: it must start with a letter, a Chinese character or a digit and contain only letters, digits, Chinese characters and . _ space = - , ，。` +
        (bad ? ` (offending: ${JSON.stringify(bad)})` : ""),
    );
  }
}

/** Resource names: 1-128 characters, start with a letter/Chinese/digit, then also . _ - (VPC/ECS docs). */
const NAME = /^[\p{Script=Han}A-Za-z0-9][\p{Script=Han}A-Za-z0-9._-]{0,127}$/u;

export function checkName(value: string | undefined, param: string): void {
  if (value === undefined || value === "") return;
  if (!NAME.test(value))
    throw new ApiError(400, `InvalidParameter.${param}.Malformed`, `The specified ${param} "${value}" is malformed.`);
}

/** An IPv4 CIDR block a.b.c.d/n. */
export function isCidr(v: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
  return !!m && m.slice(1, 5).every((x) => Number(x) <= 255) && Number(m[5]) <= 32;
}

export function cidrContains(outer: string, inner: string): boolean {
  const [oa, ob] = cidrRange(outer);
  const [ia, ib] = cidrRange(inner);
  return ia >= oa && ib <= ob;
}

export function cidrRange(cidr: string): [number, number] {
  const [ip, bits] = cidr.split("/");
  const n = ip!.split(".").reduce((a, x) => a * 256 + Number(x), 0);
  const size = 2 ** (32 - Number(bits));
  const start = n - (n % size);
  return [start, start + size - 1];
}

export function ipAt(cidr: string, offset: number): string {
  const n = cidrRange(cidr)[0] + offset;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}
