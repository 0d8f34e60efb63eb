import { describe, expect, it } from "vitest";
import { installKitCommands, switchReleaseCommands } from "../../contract/deploy-steps.js";
import { parseCommandLine, plan, resolveTarget } from "../../scripts/ops.js";
import { targetFromOutputs } from "../../scripts/ops/target.js";
import { remoteCommand, UsageError, VERBS } from "../../scripts/ops/verbs.js";

/** The command line sshd runs for `npm run ops -- <env> <verb> <args>` as root. */
const remote = (verb: string, args: string[] = [], user = "root") => remoteCommand(VERBS[verb]!, args, user);

describe("ops verbs: the exact command each one runs on the server", () => {
  it.each([
    ["status", [], "todo-status"],
    ["logs", [], "journalctl --no-pager -u 'todo-api@*' -n 200"],
    ["logs", ["-f", "nginx"], "journalctl --no-pager -u nginx -n 200 --follow"],
    [
      "logs",
      ["--since", "1 hour ago", "-n", "50", "backup"],
      "journalctl --no-pager -u todo-api-backup -n 50 --since '1 hour ago'",
    ],
    ["logs", ["alerts"], "journalctl --no-pager -t todo-alert -u 'todo-api-alert*' -n 200"],
    ["run", ["--", "node", "-e", "console.log(1)"], "todo-console run -- node -e 'console.log(1)'"],
    ["console", [], "todo-console"],
    ["migrate", ["status"], "todo-console run -- node migrate.mjs status"],
    ["maintenance", ["on"], "todo-maintenance on"],
    ["config", ["list"], "todo-config list"],
    ["config", ["get", "SMTP_URL"], "todo-config get SMTP_URL"],
    ["config", ["set", "SMTP_URL"], "todo-config set SMTP_URL --restart"],
    ["config", ["unset", "FEATURE_X"], "todo-config unset FEATURE_X --restart"],
    ["releases", [], "/usr/local/sbin/todo-release status"],
    ["restart", [], "/usr/local/sbin/todo-release restart"],
    ["restore", ["offsite:2026-11-27"], "todo-restore offsite:2026-11-27"],
    [
      "restore",
      ["/var/backups/todo-api/todo_api-20261128T033000Z.dump"],
      "todo-restore /var/backups/todo-api/todo_api-20261128T033000Z.dump",
    ],
    ["alerts", [], "todo-alert status"],
  ] as const)("%s %j → %s", (verb, args, expected) => {
    expect(remote(verb, [...args])).toBe(expected);
  });

  it("a user other than root runs it through sudo -n (no password prompt over SSH)", () => {
    expect(remote("status", [], "admin")).toBe("sudo -n todo-status");
  });

  it("deploy HASH runs the deploy's own steps on the kept release, packed again on the server", () => {
    const command = remote("deploy", ["0123456789ab"]);
    const tarball = "/tmp/todo-api-0123456789ab.tar.gz";
    const script = [
      "set -eu",
      `test -d /opt/todo-api/releases/0123456789ab || { echo "release 0123456789ab is not kept on this server (see: releases)" >&2; exit 1; }`,
      `(cd /opt/todo-api/releases/0123456789ab && tar -czf ${tarball} -- *)`,
      ...installKitCommands(tarball, "0123456789ab", ""),
      ...switchReleaseCommands(tarball, ""),
    ].join("\n");
    expect(command).toBe(`sh -c '${script.replace(/'/g, `'\\''`)}'`);
  });

  it("a backup now: the nightly unit, waited for, then what its run logged, with its exit status", () => {
    expect(remote("backup")).toContain("systemctl start --wait todo-api-backup.service");
    expect(remote("backup")).toContain("exit $rc");
  });

  it.each([
    ["config", ["set", "lower_case"]],
    ["config", ["set"]],
    ["config", ["get", "A", "B"]],
    ["migrate", ["up"]],
    ["maintenance", ["maybe"]],
    ["deploy", ["HEAD"]],
    ["restore", ["latest; rm -rf /"]],
    ["logs", ["secrets"]],
    ["logs", ["--since", "$(reboot)"]],
    ["run", []],
    ["status", ["extra"]],
  ] as const)("refuses %s %j with a usage error, before connecting", (verb, args) => {
    expect(() => remote(verb, [...args])).toThrow(UsageError);
  });

  it("a value to set never travels on a command line: config set reads stdin", () => {
    expect(VERBS.config!.stdin).toBe(true);
    expect(remote("config", ["set", "API_KEY"])).not.toMatch(/=/);
  });
});

describe("ops: where it connects", () => {
  const single = { ssh_command: { value: "ssh -i ~/.ssh/id_ed25519 root@203.0.113.10" } };
  const cluster = {
    bastion_ssh_command: { value: "ssh -i /keys/ops root@203.0.113.9" },
    server_ssh_command: { value: "unused" },
    server_private_ips: { value: ["10.0.1.11", "10.0.1.12"] },
  };

  it("reads the single server and the cluster's bastion and servers from the stack's outputs", () => {
    expect(targetFromOutputs(single)).toEqual({
      user: "root",
      hosts: ["203.0.113.10"],
      identityFile: "~/.ssh/id_ed25519",
    });
    expect(targetFromOutputs(cluster)).toEqual({
      user: "root",
      hosts: ["10.0.1.11", "10.0.1.12"],
      identityFile: "/keys/ops",
      bastion: "203.0.113.9",
    });
    expect(() => targetFromOutputs({})).toThrow(/was it deployed/);
  });

  it("the stack is <app>-<env> unless --stack names another", () => {
    const asked: string[] = [];
    const outputs = (stack: string) => {
      asked.push(stack);
      return single;
    };
    resolveTarget("prod", parseCommandLine(["prod", "status"]).options, outputs);
    resolveTarget("prod", parseCommandLine(["--stack", "shop-prod", "prod", "status"]).options, outputs);
    expect(asked).toEqual(["todo-api-prod", "shop-prod"]);
  });

  it("in a cluster: every verb goes through the bastion; settings and maintenance reach every server", () => {
    const o = parseCommandLine(["prod", "maintenance", "on"]).options;
    const target = targetFromOutputs(cluster);
    const all = plan("prod", "maintenance", ["on"], o, target, false);
    expect(all.map((i) => i.host)).toEqual(["10.0.1.11", "10.0.1.12"]);
    for (const i of all) {
      expect(i.argv).toContain(
        "ProxyCommand=ssh -i /keys/ops -o BatchMode=yes -o StrictHostKeyChecking=accept-new -W %h:%p root@203.0.113.9",
      );
      expect(i.argv.at(-1)).toBe("todo-maintenance on");
    }
    expect(plan("prod", "status", [], o, target, false).map((i) => i.host)).toEqual(["10.0.1.11"]);
    const second = parseCommandLine(["--server", "2", "prod", "status"]).options;
    expect(plan("prod", "status", [], second, target, false).map((i) => i.host)).toEqual(["10.0.1.12"]);
    expect(() =>
      plan("prod", "status", [], parseCommandLine(["--server", "3", "prod", "status"]).options, target, false),
    ).toThrow(/has 2 app server/);
  });

  it("a terminal only where one is needed and this side has one", () => {
    const o = parseCommandLine(["dev", "logs", "-f"]).options;
    const target = targetFromOutputs(single);
    expect(plan("dev", "logs", ["-f"], o, target, true)[0]!.argv).toContain("-t");
    expect(plan("dev", "logs", ["-f"], o, target, false)[0]!.argv).toContain("-T");
    expect(plan("dev", "status", [], o, target, true)[0]!.argv).toContain("-T");
  });
});
