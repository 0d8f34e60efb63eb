import { createServer } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { NODE_RELEASE_FILE, nodeReleaseFromShasums, pinnedNodeRelease } from "../../contract/node.js";
import { pinNode } from "../../scripts/node-pin.js";

const SUMS = [
  `${"a".repeat(64)}  node-v24.12.0-darwin-arm64.tar.gz`,
  `${"b".repeat(64)}  node-v24.12.0-linux-arm64.tar.xz`,
  `${"c".repeat(64)}  node-v24.12.0-linux-x64.tar.gz`,
  `${"d".repeat(64)}  node-v24.12.0-linux-x64.tar.xz`,
].join("\n");

describe("the pinned Node.js", () => {
  const original = readFileSync(NODE_RELEASE_FILE, "utf8");
  afterEach(() => writeFileSync(NODE_RELEASE_FILE, original));

  it("is an exact version with the SHA-256 of its linux tarballs", () => {
    const pin = pinnedNodeRelease();
    expect(pin.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pin.sha256["linux-x64"]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("reads the .tar.xz sums (what servers download) from SHASUMS256.txt, and says what is missing", () => {
    expect(nodeReleaseFromShasums("24.12.0", SUMS)).toEqual({
      version: "24.12.0",
      sha256: { "linux-x64": "d".repeat(64), "linux-arm64": "b".repeat(64) },
    });
    expect(() => nodeReleaseFromShasums("24.13.0", SUMS)).toThrow(/lists no node-v24.13.0-linux-x64.tar.xz/);
  });

  it("npm run node:pin rewrites the pin from a mirror's SHASUMS256.txt", async () => {
    const server = createServer((req, res) => {
      if (req.url === "/dist/v24.12.0/SHASUMS256.txt") res.end(SUMS);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      await pinNode("v24.12.0", `http://127.0.0.1:${port}/dist/`);
      expect(JSON.parse(readFileSync(NODE_RELEASE_FILE, "utf8"))).toEqual({
        version: "24.12.0",
        sha256: { "linux-x64": "d".repeat(64), "linux-arm64": "b".repeat(64) },
      });
      await expect(pinNode("24.99.0", `http://127.0.0.1:${port}/dist`)).rejects.toThrow(/HTTP 404/);
    } finally {
      server.close();
    }
  });
});
