/**
 * The ForceNew facts the stack's data-loss guard and docs/deploy.md's change table rely on
 * (infra/provider/volcengine.force-new.json) are those of the provider's source. The source is
 * not on every machine: set VOLCENGINE_PROVIDER_SOURCE to a checkout (or bare clone) of
 * github.com/volcengine/terraform-provider-volcengine holding tag v0.0.196; without it the
 * comparison is skipped and says so.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  forceNewFromSource,
  forceNewOf,
  projectResourceTypes,
} from "../../harness/terraform-schema/force-new-source.js";
import { projectRoot } from "./synth-helpers.js";

const recorded = JSON.parse(readFileSync(path.join(projectRoot, "infra/provider/volcengine.force-new.json"), "utf8"));
const source = process.env.VOLCENGINE_PROVIDER_SOURCE;

describe("ForceNew facts", () => {
  it("cover every resource type of the committed provider schema", () => {
    const types = projectResourceTypes(path.join(projectRoot, "infra/provider/volcengine.schema.json")).sort();
    expect(
      Object.keys(recorded)
        .filter((k) => k !== "//")
        .sort(),
    ).toEqual(types);
  });

  it("are read from a schema map at its own level, nested blocks dotted, comments ignored", () => {
    const go = `
      "cidr_block": { Type: schema.TypeString, Required: true, ForceNew: true },
      "name": { Type: schema.TypeString, Optional: true },
      "billing": { Type: schema.TypeList, Optional: true, Elem: &schema.Resource{ Schema: map[string]*schema.Schema{
        "isp": { Type: schema.TypeString, ForceNew: true, Description: "a { brace" },
        "bandwidth": { Type: schema.TypeInt, Optional: true },
      } } },`;
    expect(forceNewOf(go)).toEqual(["cidr_block", "billing.isp"]);
  });

  it.skipIf(!source || !existsSync(source))(
    "match the provider's source (VOLCENGINE_PROVIDER_SOURCE)",
    () => {
      const { "//": _note, ...facts } = recorded;
      expect(forceNewFromSource(source!, Object.keys(facts))).toEqual(facts);
    },
    120_000,
  );
});
