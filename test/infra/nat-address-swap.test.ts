/**
 * A cluster's `eip.isp` change replaces the NAT gateway's elastic IP (`isp` is ForceNew, and so is
 * the association's `allocation_id`), while its SNAT entries take the new address in place. The
 * new address must be created and associated before the old association goes: deleting the old
 * association first, while the SNAT entries still use the address, is what the API refuses (a
 * deploy that can neither go forward nor back). The order is Terraform's, on stand-ins that carry
 * the provider's ForceNew facts.
 */
import { afterAll, describe, expect, it } from "vitest";
import { FORCE_NEW } from "../../infra/stacks/replacement.js";
import { RDS, baseEnvironment, cleanupSynthDirs, resources, synth, type TfJson } from "./synth-helpers.js";
import { hasTerraform, operations, orderingStandIn, TerraformDir } from "./terraform-stand-in.js";

afterAll(cleanupSynthDirs);

const clusterWith = async (isp: string): Promise<TfJson> =>
  (
    await synth({
      environments: { prod: baseEnvironment({ topology: "cluster", database: RDS, eip: { isp } }) },
    })
  ).stacks["todo-api-prod"]!;

describe("the NAT gateway's address swap", () => {
  it("creates the new address and association before releasing the old ones", async () => {
    const tf = await clusterWith("BGP");
    const nat = (type: string) => Object.entries<any>(tf.resource[type]).filter(([n]) => n.startsWith("nat_"));
    for (const type of ["volcengine_eip_address", "volcengine_eip_associate"]) {
      expect(nat(type)).toHaveLength(1);
      expect(nat(type)[0]![1].lifecycle).toEqual({ create_before_destroy: true });
    }
    for (const snat of resources(tf, "volcengine_snat_entry")) expect(snat.depends_on).toHaveLength(1);
  });

  it.skipIf(!hasTerraform)(
    "Terraform orders the swap so the SNAT entries never lose their address",
    async () => {
      const dir = new TerraformDir();
      const pick = (type: string, name: string) =>
        ["volcengine_eip_address", "volcengine_eip_associate", "volcengine_snat_entry"].includes(type) &&
        name.startsWith("nat_");
      try {
        dir.write(orderingStandIn(await clusterWith("BGP"), pick, FORCE_NEW));
        expect(dir.init().status).toBe(0);
        expect(dir.apply().status).toBe(0);
        dir.write(orderingStandIn(await clusterWith("ChinaMobile"), pick, FORCE_NEW));
        const swap = dir.run(["apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=1"]);
        expect(swap.stderr).toBe("");
        const ops = operations(swap.stdout);
        const at = (op: string, type: string) => ops.findIndex((l) => l.startsWith(`${op} ${type}.nat_`));
        // The address and its association are replaced; the SNAT entries are updated in place.
        expect(ops.filter((l) => l.startsWith("update")).map((l) => l.split(".")[0])).toEqual([
          "update volcengine_snat_entry",
          "update volcengine_snat_entry",
        ]);
        const oldAssociationGone = at("destroy", "volcengine_eip_associate");
        expect(oldAssociationGone).toBeGreaterThan(-1);
        expect(at("create", "volcengine_eip_address")).toBeLessThan(oldAssociationGone);
        expect(at("create", "volcengine_eip_associate")).toBeLessThan(oldAssociationGone);
        expect(ops.lastIndexOf(ops.filter((l) => l.startsWith("update")).at(-1)!)).toBeLessThan(oldAssociationGone);
        expect(at("destroy", "volcengine_eip_address")).toBeGreaterThan(oldAssociationGone);
      } finally {
        dir.dispose();
      }
    },
    120_000,
  );
});
