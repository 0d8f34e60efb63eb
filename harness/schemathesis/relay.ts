/**
 * Relays schemathesis's report line by line, with its `=`-ruled banners made plain.
 *
 * schemathesis ends like pytest ("===== 3 warnings in 44.79s ====="), and CI reads a pytest-style
 * closing line as the run's own test count: a banner that counts warnings, not cases, reads as
 * "no tests ran". Every banner ruled with `=` (its section titles too, which a reader of closing
 * lines could take for one) keeps its words, without the rule around them.
 */
const banner = /^=+ (.+) =+$/;

export function plainBanner(line: string): string {
  const match = banner.exec(line);
  return match ? `schemathesis: ${match[1]}` : line;
}

/** A writer that takes chunks as they come and writes whole lines, each through `plainBanner`. */
export function lineRelay(write: (text: string) => void): { push(chunk: Buffer): void; end(): void } {
  let pending = "";
  return {
    push(chunk) {
      const lines = (pending + chunk.toString()).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) write(`${plainBanner(line)}\n`);
    },
    end() {
      if (pending) write(plainBanner(pending));
      pending = "";
    },
  };
}
