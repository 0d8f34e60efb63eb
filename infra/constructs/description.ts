/**
 * Resource descriptions as Volcengine's APIs accept them. CreateVpc, CreateSecurityGroup,
 * AllocateEipAddress and RunInstances document the same rule: start with a letter, a Chinese
 * character or a digit; then only letters, Chinese characters, digits, `, . _ space = -` and the
 * full-width `，` `。`; at most 255 characters. The provider checks none of it (the request goes
 * straight to the API), so a "(" in a VPC description fails the very first resource of a deploy.
 * Every description the stack sets goes through `apiDescription`, so it is valid by construction,
 * whatever a name or domain puts into it.
 */

/** The documented rule, for tests and for checking synthesized JSON. */
export const API_DESCRIPTION_PATTERN = /^[A-Za-z0-9\u4e00-\u9fa5][A-Za-z0-9\u4e00-\u9fa5,._ =\-，。]{0,254}$/;

const DISALLOWED = /[^A-Za-z0-9\u4e00-\u9fa5,._ =\-，。]+/g;
const LEADING = /^[^A-Za-z0-9\u4e00-\u9fa5]+/;

/**
 * `text` with every run of characters outside the allowed set replaced by one space, leading
 * punctuation dropped, spaces collapsed and the result cut to 255 characters. Write the text so
 * it reads well without such characters ("80 percent", not "80%"); this is the safety net.
 */
export function apiDescription(text: string): string {
  const cleaned = text
    .replace(DISALLOWED, " ")
    .replace(/ {2,}/g, " ")
    .trim()
    .replace(LEADING, "")
    .slice(0, 255)
    .trimEnd();
  if (!API_DESCRIPTION_PATTERN.test(cleaned)) {
    throw new Error(`apiDescription: nothing usable left of "${text}" (needs a letter or digit)`);
  }
  return cleaned;
}
