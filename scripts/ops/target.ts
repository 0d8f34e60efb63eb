/**
 * Where `npm run ops` connects: the server(s) of an environment, read from the stack's outputs
 * (what `npx cdktf output <stack>` shows: ssh_command in `single`; bastion_ssh_command and
 * server_private_ips in `cluster`), or given with --host (and --bastion).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface Target {
  user: string;
  /** The app servers, in rollout order (one in `single`). */
  hosts: string[];
  identityFile?: string;
  /** `cluster`: the bastion every connection goes through. */
  bastion?: string;
}

type Outputs = Record<string, { value: unknown }>;

/** `ssh [-i KEY] USER@HOST` as the stack writes it. */
function parseSsh(command: string, output: string): { user: string; host: string; identityFile?: string } {
  const m = /^ssh (?:-i (\S+) )?([^@\s]+)@(\S+)$/.exec(command);
  if (!m) throw new Error(`the stack output ${output} is not "ssh [-i key] user@host": ${command}`);
  return { identityFile: m[1], user: m[2]!, host: m[3]! };
}

export function targetFromOutputs(outputs: Outputs): Target {
  const text = (name: string) => {
    const v = outputs[name]?.value;
    return typeof v === "string" ? v : undefined;
  };
  const bastion = text("bastion_ssh_command");
  if (bastion) {
    const b = parseSsh(bastion, "bastion_ssh_command");
    const ips = outputs.server_private_ips?.value;
    if (!Array.isArray(ips) || !ips.length || !ips.every((ip) => typeof ip === "string"))
      throw new Error("the stack has a bastion but no server_private_ips output");
    return { user: b.user, hosts: ips as string[], identityFile: b.identityFile, bastion: b.host };
  }
  const single = text("ssh_command");
  if (!single) throw new Error("the stack has neither ssh_command nor bastion_ssh_command: was it deployed?");
  const s = parseSsh(single, "ssh_command");
  return { user: s.user, hosts: [s.host], identityFile: s.identityFile };
}

/**
 * The outputs of a deployed stack: `terraform output -json` in its synthesized directory
 * (cdktf.out/stacks/<stack>, where `cdktf deploy` ran it), so its state backend answers.
 */
export function readStackOutputs(stack: string, root = process.cwd()): Outputs {
  const dir = join(root, "cdktf.out", "stacks", stack);
  if (!existsSync(dir))
    throw new Error(`${dir} does not exist: run \`npx cdktf synth\` (or deploy) first, or give --host`);
  const terraform = process.env.TERRAFORM_BINARY_NAME ?? "terraform";
  const r = spawnSync(terraform, [`-chdir=${dir}`, "output", "-json"], { encoding: "utf8" });
  if (r.error) throw new Error(`${terraform} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${terraform} output failed for ${stack}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Outputs;
}

/** The ssh options every verb shares; the bastion hop as the stack's own server_ssh_command does it. */
export function sshOptions(target: Target, o: { tty: boolean; port?: number }): string[] {
  const key = target.identityFile ? ["-i", target.identityFile] : [];
  const jump = target.bastion
    ? [
        "-o",
        `ProxyCommand=ssh ${target.identityFile ? `-i ${target.identityFile} ` : ""}-o BatchMode=yes -o StrictHostKeyChecking=accept-new -W %h:%p ${target.user}@${target.bastion}`,
      ]
    : [];
  return [
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=accept-new",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "ServerAliveInterval=15",
    ...(o.port ? ["-p", String(o.port)] : []),
    ...key,
    ...jump,
    o.tty ? "-t" : "-T",
  ];
}
