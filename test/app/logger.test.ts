import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { accessLogger, createLogger } from "../../app/logger.js";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { lines, logger: createLogger({ env: "test", logLevel: "info" }, sink) };
}

describe("logger", () => {
  it("redacts secrets that reach a log call by mistake", () => {
    const { lines, logger } = capture();
    logger.info(
      {
        password: "hunter2",
        body: { password: "p", refresh_token: "r" },
        headers: { authorization: "Bearer t" },
        secret: "s",
      },
      "oops",
    );
    const text = JSON.stringify(lines);
    for (const secret of ["hunter2", '"p"', "Bearer t", '"s"']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ password: "[redacted]", headers: { authorization: "[redacted]" }, msg: "oops" });
  });

  it("writes request lines through the access logger with the same service fields, and keeps redaction elsewhere", () => {
    const { lines, logger } = capture();
    accessLogger(logger).info(
      { req_id: "r1", method: "GET", route: "/api/v1/todos", status: 200, latency_ms: 1.5 },
      "request",
    );
    logger.info({ password: "still-hidden" }, "after");
    expect(lines[0]).toMatchObject({
      service: "todo-api",
      req_id: "r1",
      route: "/api/v1/todos",
      status: 200,
      msg: "request",
    });
    expect(lines[1]).toMatchObject({ password: "[redacted]" });
  });
});
