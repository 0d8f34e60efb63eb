import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireTool } from "../support/tools.js";
import { renderedFiles, run, variants } from "./helpers.js";

/**
 * The host firewall unit run for real: its Exec lines, as rendered, against nft in a network
 * namespace the test creates (`unshare -rn`: the host's rules are never touched).
 */
const nftTool = requireTool("nft");
const nft = !nftTool.missing && spawnSync("unshare", ["-rn", "nft", "list", "ruleset"]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "firewall-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = renderedFiles(variants["local, no domain"]!);
const unit = files.get("/etc/systemd/system/todo-api-firewall.service")!.content;
const rules = files.get("/etc/todo-api-firewall.nft")!.content;
const rulesFile = join(dir, "firewall.nft");
/** The unit's command lines of one kind, pointed at the test's rules file. */
const exec = (kind: "ExecStart" | "ExecStop" | "ExecReload") =>
  unit
    .split("\n")
    .filter((line) => line.startsWith(`${kind}=`))
    .map((line) => line.slice(kind.length + 1).replace("/etc/todo-api-firewall.nft", rulesFile));

/** Runs SCRIPT in a fresh network namespace and returns the ruleset it left. */
function inNamespace(script: string) {
  return run("unshare", ["-rn", "bash", "-c", `${script}\nnft list ruleset`]);
}

describe.skipIf(!nft)("the host firewall unit", () => {
  it("a restart with a rules file nft cannot load keeps the loaded firewall (no delete before the load)", () => {
    writeFileSync(rulesFile, rules);
    const broken = join(dir, "broken.nft");
    writeFileSync(broken, rules.replace("tcp dport { 22, 80, 443 } accept", "tcp dport { 22, 80, 443 accept"));
    const restart = [...exec("ExecStop"), ...exec("ExecStart")].map((c) => c.replace(rulesFile, broken));
    const r = inNamespace([...exec("ExecStart"), ...restart.map((c) => `${c} || echo load-failed`)].join("\n"));
    expect(r.stdout).toContain("load-failed");
    expect(r.stdout).toContain("table inet todo_api_firewall");
    expect(r.stdout).toContain("tcp dport { 22, 80, 443 } accept");
  });

  it("a reload or a restart swaps the ruleset in one transaction: the new rules, never two tables", () => {
    writeFileSync(rulesFile, rules);
    const changed = join(dir, "changed.nft");
    writeFileSync(changed, rules.replace("tcp dport { 22, 80, 443 } accept", "tcp dport { 22, 443 } accept"));
    const reload = exec("ExecReload").map((c) => c.replace(rulesFile, changed));
    expect(reload).toHaveLength(1);
    const r = inNamespace([...exec("ExecStart"), ...reload].join("\n"));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("tcp dport { 22, 443 } accept");
    expect(r.stdout).not.toContain("tcp dport { 22, 80, 443 } accept");
    expect(r.stdout.match(/table inet todo_api_firewall/g)).toHaveLength(1);
    // stopping the unit leaves the firewall up
    expect(exec("ExecStop")).toEqual([]);
  });
});

describe.skipIf(!nft)("the host firewall on a minimal image", () => {
  it("loads without /etc/protocols (no netbase package, as on a server that installs no PostgreSQL)", () => {
    writeFileSync(rulesFile, rules);
    // A mount namespace of its own hides the file from nft only; the host's stays as it is.
    const r = run("unshare", [
      "-rnm",
      "bash",
      "-c",
      `mount --bind /dev/null /etc/protocols\n${exec("ExecStart").join("\n")}\nnft list ruleset`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("table inet todo_api_firewall");
    expect(r.stdout).toMatch(/meta l4proto \{ (icmp|1), (ipv6-icmp|icmpv6|58) \} accept/);
  });
});
