import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireTool } from "../support/tools.js";
import { renderedFiles, run, variants } from "./helpers.js";

/**
 * The certificate unit's sandbox leaves it what `nginx -t` (run by todo-certificate before it
 * switches to HTTPS) needs: nginx -t binds the listening ports to test them. Run with exactly the
 * unit's CapabilityBoundingSet= (setpriv), in a network namespace of the test's own.
 */
const nginx = requireTool("nginx");
const usable = !nginx.missing && spawnSync("unshare", ["-rn", "setpriv", "--bounding-set=-all", "true"]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "certificate-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const unit = renderedFiles(variants["local, domain"]!).get("/etc/systemd/system/todo-api-certificate.service")!.content;
const capabilities = /^CapabilityBoundingSet=(.*)$/m
  .exec(unit)![1]!
  .split(/\s+/)
  .map((c) => c.replace(/^CAP_/, "").toLowerCase());

/** nginx -t of a site on ports 80 and 443 with only CAPS in the bounding set. */
function nginxTest(caps: string[]) {
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const conf = join(dir, "nginx.conf");
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${dir}/tmp;`).join(" ");
  writeFileSync(
    conf,
    `user root;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp { access_log off; ${temp} server { listen 80; listen 443; } }\n`,
  );
  const bounding = ["-all", ...caps.map((c) => `+${c}`)].join(",");
  return run("unshare", ["-rn", "setpriv", `--bounding-set=${bounding}`, "nginx", "-t", "-c", conf]);
}

describe.skipIf(!usable)("the certificate unit's capabilities", () => {
  it("are enough for nginx -t", () => {
    const r = nginxTest(capabilities);
    expect(r.stderr).toContain("test is successful");
    expect(r.status).toBe(0);
  });

  it("nginx -t fails without CAP_NET_BIND_SERVICE (the check can fail)", () => {
    const r = nginxTest(capabilities.filter((c) => c !== "net_bind_service"));
    expect(r.stderr).toContain("bind() to 0.0.0.0:80 failed (13: Permission denied)");
    expect(r.status).not.toBe(0);
  });
});
