import { describe, expect, it } from "vitest";
import { checkTerraformJson } from "../../harness/terraform-schema/check.js";
import { expressions } from "../../harness/terraform-schema/references.js";
import { typeError } from "../../harness/terraform-schema/value-types.js";
import { projectSchemas } from "./synth-helpers.js";

const schemas = projectSchemas();

/** A small valid configuration; each test breaks one thing in a copy of it. */
function valid(): Record<string, any> {
  return {
    terraform: {
      required_providers: {
        volcengine: { source: "volcengine/volcengine", version: "0.0.196" },
        null: { source: "null", version: "3.2.4" },
      },
    },
    provider: { volcengine: [{ region: "cn-beijing" }], null: [{}] },
    variable: { db_password: { type: "string", sensitive: true } },
    resource: {
      volcengine_vpc: { main: { cidr_block: "172.16.0.0/16", vpc_name: "x", tags: [{ key: "a", value: "b" }] } },
      volcengine_subnet: {
        main: { cidr_block: "172.16.1.0/24", vpc_id: "${volcengine_vpc.main.id}", zone_id: "cn-beijing-a" },
      },
      volcengine_security_group_rule: {
        ssh: {
          security_group_id: "sg-1",
          direction: "ingress",
          protocol: "tcp",
          port_start: 22,
          port_end: "22",
          cidr_ip: "198.51.100.7/32",
        },
      },
      volcengine_rds_postgresql_instance: {
        db: {
          db_engine_version: "PostgreSQL_16",
          node_spec: "rds.postgres.1c2g",
          primary_zone_id: "cn-beijing-a",
          secondary_zone_id: "cn-beijing-a",
          subnet_id: "${volcengine_subnet.main.id}",
          charge_info: { charge_type: "PostPaid" },
        },
      },
      volcengine_rds_postgresql_account: {
        app: {
          instance_id: "${volcengine_rds_postgresql_instance.db.id}",
          account_name: "app",
          account_password: "${var.db_password}",
          account_type: "Normal",
        },
      },
      null_resource: {
        deploy: {
          triggers: { hash: "abc" },
          connection: { type: "ssh", host: "1.2.3.4" },
          provisioner: [{ "remote-exec": { inline: ["true"] } }],
          depends_on: ["volcengine_subnet.main"],
        },
      },
    },
    data: { volcengine_images: { ubuntu: { platform: "Ubuntu", is_support_cloud_init: true } } },
    output: { ip: { value: "${data.volcengine_images.ubuntu.images[0].image_id}" } },
  };
}

function problemsOf(mutate: (c: Record<string, any>) => void): string[] {
  const c = valid();
  mutate(c);
  return checkTerraformJson(c, schemas).map((p) => `${p.path}: ${p.message}`);
}

describe("provider schema check", () => {
  it("accepts a valid configuration", () => {
    expect(problemsOf(() => {})).toEqual([]);
  });

  it("catches an unknown attribute", () => {
    expect(problemsOf((c) => (c.resource.volcengine_vpc.main.cidr = "10.0.0.0/8"))).toEqual([
      'resource.volcengine_vpc.main.cidr: unknown argument "cidr"',
    ]);
  });

  it("catches a missing required attribute", () => {
    expect(problemsOf((c) => delete c.resource.volcengine_subnet.main.zone_id)).toEqual([
      "resource.volcengine_subnet.main.zone_id: required attribute is missing",
    ]);
  });

  it("catches a computed-only attribute being set", () => {
    expect(problemsOf((c) => (c.resource.volcengine_vpc.main.status = "Available"))).toEqual([
      "resource.volcengine_vpc.main.status: is computed-only: the provider sets it, the configuration must not",
    ]);
  });

  it("catches wrong value types, accepting Terraform's own conversions and expressions", () => {
    expect(problemsOf((c) => (c.resource.volcengine_security_group_rule.ssh.port_start = "ssh"))).toEqual([
      'resource.volcengine_security_group_rule.ssh.port_start: expected a number, got string "ssh"',
    ]);
    expect(problemsOf((c) => (c.resource.volcengine_vpc.main.dns_servers = "8.8.8.8"))).toEqual([
      'resource.volcengine_vpc.main.dns_servers: expected a set, got string "8.8.8.8"',
    ]);
    expect(problemsOf((c) => (c.resource.null_resource.deploy.triggers = { hash: ["a"] }))).toEqual([
      'resource.null_resource.deploy.triggers: ["hash"]: expected a string, got a list',
    ]);
    expect(problemsOf((c) => (c.resource.volcengine_vpc.main.dns_servers = "${var.db_password}"))).toEqual([]);
    expect(typeError(true, "bool")).toBeUndefined();
    expect(typeError("yes", "bool")).toMatch(/expected a bool/);
    expect(typeError({ a: 1 }, ["object", { a: "number" }])).toBeUndefined();
    expect(typeError({ b: 1 }, ["object", { a: "number" }])).toMatch(/unknown object attribute/);
  });

  it("catches missing required blocks, too many blocks and wrong block shapes", () => {
    expect(problemsOf((c) => delete c.resource.volcengine_rds_postgresql_instance.db.charge_info)).toEqual([
      "resource.volcengine_rds_postgresql_instance.db.charge_info: required block is missing (at least 1)",
    ]);
    expect(
      problemsOf(
        (c) =>
          (c.resource.volcengine_rds_postgresql_instance.db.charge_info = [
            { charge_type: "PostPaid" },
            { charge_type: "PrePaid" },
          ]),
      ),
    ).toEqual(["resource.volcengine_rds_postgresql_instance.db.charge_info: allows at most 1 block(s), has 2"]);
    expect(problemsOf((c) => (c.resource.volcengine_rds_postgresql_instance.db.charge_info = {}))).toEqual([
      "resource.volcengine_rds_postgresql_instance.db.charge_info[0].charge_type: required attribute is missing",
    ]);
    expect(problemsOf((c) => (c.resource.volcengine_vpc.main.tags = [{ key: "a" }]))).toEqual([
      "resource.volcengine_vpc.main.tags[0].value: required attribute is missing",
    ]);
  });

  it("catches unknown resource and data types and undeclared providers", () => {
    expect(problemsOf((c) => (c.resource.volcengine_vpcs = { x: {} }))).toEqual([
      'resource.volcengine_vpcs: unknown resource type "volcengine_vpcs"',
    ]);
    expect(problemsOf((c) => (c.data.volcengine_image = { x: {} }))).toEqual([
      'data.volcengine_image: unknown data source type "volcengine_image"',
    ]);
    expect(problemsOf((c) => (c.resource.aws_instance = { x: {} }))).toEqual([
      'resource.aws_instance: provider "aws" is not declared in terraform.required_providers',
    ]);
  });

  it("checks the provider block and meta-arguments", () => {
    expect(problemsOf((c) => (c.provider.volcengine = [{}]))).toEqual([
      "provider.volcengine[0].region: required attribute is missing",
    ]);
    expect(problemsOf((c) => (c.provider.volcengine = [{ region: "cn-beijing", acces_key: "x" }]))).toEqual([
      'provider.volcengine[0].acces_key: unknown argument "acces_key"',
    ]);
    expect(problemsOf((c) => (c.resource.null_resource.deploy.provisioner = [{ "remote-exe": {} }]))).toEqual([
      "resource.null_resource.deploy.provisioner[0]: must be one of file, local-exec, remote-exec",
    ]);
  });

  it("checks depends_on and lifecycle", () => {
    expect(problemsOf((c) => (c.resource.null_resource.deploy.depends_on = ["volcengine_vpc.other"]))).toEqual([
      'resource.null_resource.deploy.depends_on[0]: does not name a declared resource: "volcengine_vpc.other"',
    ]);
    expect(
      problemsOf((c) => (c.resource.volcengine_vpc.main.lifecycle = { ignore_changes: ["tags", "cidr"] })),
    ).toEqual([
      'resource.volcengine_vpc.main.lifecycle.ignore_changes[1]: "cidr" is not an attribute of this resource',
    ]);
    expect(
      problemsOf((c) => (c.resource.volcengine_vpc.main.lifecycle = { precondition: [{ condition: "${true}" }] })),
    ).toEqual(["resource.volcengine_vpc.main.lifecycle.precondition[0]: needs condition and error_message"]);
  });

  it("catches references to undeclared things and unknown attributes", () => {
    expect(problemsOf((c) => (c.resource.volcengine_subnet.main.vpc_id = "${volcengine_vpc.other.id}"))).toEqual([
      "resource.volcengine_subnet.main.vpc_id: reference to undeclared resource volcengine_vpc.other",
    ]);
    expect(problemsOf((c) => (c.resource.volcengine_subnet.main.vpc_id = "${volcengine_vpc.main.vpc_idd}"))).toEqual([
      'resource.volcengine_subnet.main.vpc_id: volcengine_vpc.main has no attribute "vpc_idd"',
    ]);
    expect(problemsOf((c) => (c.output.ip.value = "${var.nope} ${local.nope}"))).toEqual([
      "output.ip.value: reference to undeclared variable var.nope",
      "output.ip.value: reference to undeclared local.nope",
    ]);
    expect(
      problemsOf((c) => (c.resource.null_resource.deploy.provisioner[0]["remote-exec"].inline = ['echo "${HOME}"'])),
    ).toEqual([
      'resource.null_resource.deploy.provisioner[0].remote-exec.inline[0]: "${HOME}" is not a valid Terraform reference (shell syntax? write $${HOME} or avoid braces)',
    ]);
    // Text inside string literals and escaped $${ is not a reference.
    expect(
      problemsOf((c) => (c.output.ip.value = '${upper("volcengine_vpc.ghost.id")} $${volcengine_vpc.ghost.id}')),
    ).toEqual([]);
  });

  it("extracts expressions with nested braces and skips escapes", () => {
    expect(expressions('a ${x} $${y} ${[for i in z : i if i == "}"]} b')).toEqual([
      "x",
      '[for i in z : i if i == "}"]',
    ]);
  });
});
