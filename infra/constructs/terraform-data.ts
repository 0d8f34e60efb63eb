import {
  anyToTerraform,
  hashMapper,
  type ITerraformDependable,
  TerraformResource,
  type TerraformResourceConfig,
  type TerraformResourceLifecycle,
} from "cdktf";
import type { Construct } from "constructs";

/** What a `terraform_data` record takes. */
export interface TerraformDataProps {
  /** Stored in the state and echoed as `output` after apply. @default none */
  readonly input?: Readonly<Record<string, unknown>>;
  /** A change of these values replaces the record (and runs its provisioners again). @default none */
  readonly triggersReplace?: Readonly<Record<string, unknown>>;
  /** @default none */
  readonly dependsOn?: ITerraformDependable[];
  /** @default none */
  readonly lifecycle?: TerraformResourceLifecycle;
  /** @default none */
  readonly provisioners?: TerraformResourceConfig["provisioners"];
}

/**
 * Terraform's built-in `terraform_data` resource, synthesized exactly as cdktf's `DataResource`.
 * Not that class: it adds a check that runs `terraform version` at synth, so `cdktf synth` and
 * every test that synthesizes would fail on a machine without Terraform (as `moveFromId` would;
 * see rule-ids.ts). Terraform itself refuses `terraform_data` below 1.4 at plan, and deploying
 * needs Terraform anyway.
 */
export class TerraformData extends TerraformResource {
  private readonly props: TerraformDataProps;

  constructor(scope: Construct, id: string, props: TerraformDataProps = {}) {
    super(scope, id, {
      terraformResourceType: "terraform_data",
      terraformGeneratorMetadata: { providerName: "terraform" },
      dependsOn: props.dependsOn,
      lifecycle: props.lifecycle,
      provisioners: props.provisioners,
    });
    this.props = props;
  }

  get id(): string {
    return this.getStringAttribute("id");
  }

  protected override synthesizeAttributes(): Record<string, unknown> {
    return {
      input: hashMapper(anyToTerraform)(this.props.input),
      triggers_replace: hashMapper(anyToTerraform)(this.props.triggersReplace),
    };
  }
}
