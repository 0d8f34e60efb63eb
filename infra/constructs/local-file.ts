import { Construct } from "constructs";
import { TerraformLocal } from "cdktf";

/**
 * A file on the deploying machine that Terraform reads at plan/apply time (an SSH private key,
 * a certificate's PEM files): never at synth, so it never lands in the synthesized JSON.
 *
 * `file()` fails when the file is missing, and Terraform evaluates every expression of the
 * configuration even for `destroy`; so a plain `file()` made `cdktf destroy` need the deploy-time
 * files. Here the content is `try(file(...), "")` and the resources that really need the file carry
 * the `required` precondition: a deploy without the file stops at plan with a clear message, while
 * destroy (which checks no preconditions) works from any computer with only credentials and state.
 */
export interface LocalFileProps {
  /** Path on the deploying machine; `~` is expanded by Terraform. */
  readonly path: string;
  /**
   * The content is a secret (a private key): marked with `sensitive()`, so every attribute set
   * from it shows as "(sensitive value)" in plans, whatever the provider's schema says.
   * @default false
   */
  readonly sensitive?: boolean;
}

export class LocalFile extends Construct {
  /** Path on the deploying machine. */
  readonly path: string;
  /** The file's content, or "" when it does not exist (Terraform expression). */
  readonly content: string;
  private readonly ref: string;

  constructor(scope: Construct, id: string, props: LocalFileProps) {
    super(scope, id);
    this.path = props.path;
    const read = `try(file(pathexpand(${JSON.stringify(props.path)})), "")`;
    const local = new TerraformLocal(this, "content", `\${${props.sensitive ? `sensitive(${read})` : read}}`);
    this.content = local.asString;
    this.ref = `local.${local.friendlyUniqueId}`;
  }

  /** Precondition for a resource that cannot be created or updated without this file. */
  required(what: string): { condition: string; errorMessage: string } {
    return {
      condition: `\${${this.ref} != ""}`,
      errorMessage: `${what}: cannot read ${this.path} on this computer. It is needed to deploy (not to destroy).`,
    };
  }
}
