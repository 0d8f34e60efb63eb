/**
 * Volcengine's endpoints in the synthesized stack, replaced by the rehearsal's stand-ins on this
 * machine, as the Node.js mirror is replaced (stack.ts): in every server's user data (the fixed
 * servers', the scaling configuration's) and in the deploy step's host settings.
 *
 *  - the OpenAPI origin, `https://open.volcengineapi.com` (the seed's SEED_ENDPOINT), becomes the
 *    in-process local cloud's address on the VPC's uplink;
 *  - TOS's S3 endpoint, `https://tos-s3-<region>.volces.com` (OFFSITE_ENDPOINT, FLEET_ENDPOINT),
 *    becomes the S3 data plane's address, and the setting gains `<PREFIX>_PATH_STYLE='1'` on the
 *    next line: the stand-in has no DNS for `<bucket>.<host>`, so the bucket goes in the path (the
 *    kit's clients read OFFSITE_PATH_STYLE / FLEET_PATH_STYLE; the signature covers the path
 *    either way, and the stand-in verifies it).
 *
 * Why not the real names with a rehearsal CA: the kit runs Node.js, which trusts its own CA
 * bundle, not the system's, so every unit would need NODE_EXTRA_CA_CERTS: a change to the server
 * the rehearsal is there to prove, where this one changes only values the stack lets a user set
 * (the endpoint options) and one setting the kit documents for tests.
 *
 * A host setting is a line `NAME='value'`, in a YAML block (user data) or one string of a JSON
 * array (the deploy step's remote-exec); the inserted line keeps the same indentation and quotes.
 */
export interface Endpoints {
  /** Origin of the OpenAPI stand-in, e.g. http://10.215.8.1:40123. */
  openApi: string;
  /** Origin of the S3 data plane stand-in. */
  tosS3: string;
}

export const OPENAPI_ORIGIN = "https://open.volcengineapi.com";
const TOS_S3 = /https:\/\/tos-s3-[a-z0-9-]+\.i?volces\.com/;
const TOS_SETTING = new RegExp(`^([ \\t]*"?)([A-Z][A-Z0-9]*)_ENDPOINT='${TOS_S3.source}'("?)(,?)[ \\t]*$`, "gm");

/** `text` with both endpoints replaced; returns what it replaced too (the scenario logs it). */
export function withLocalEndpoints(text: string, to: Endpoints): { text: string; replaced: string[] } {
  const replaced: string[] = [];
  let out = text.replace(TOS_SETTING, (_all, lead: string, prefix: string, quote: string, comma: string) => {
    replaced.push(`${prefix}_ENDPOINT`);
    const tail = quote ? `${quote},` : "";
    return `${lead}${prefix}_ENDPOINT='${to.tosS3}'${tail}\n${lead}${prefix}_PATH_STYLE='1'${quote}${comma}`;
  });
  if (out.includes(OPENAPI_ORIGIN)) {
    replaced.push("OpenAPI");
    out = out.replaceAll(OPENAPI_ORIGIN, to.openApi);
  }
  const left = new RegExp(`${TOS_S3.source}|volcengineapi\\.com`).exec(out);
  if (left) throw new Error(`a Volcengine endpoint is left where the rehearsal cannot replace it: ${left[0]}`);
  return { text: out, replaced };
}
