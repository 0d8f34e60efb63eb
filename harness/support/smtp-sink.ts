import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpSink {
  /** smtp://user:password@127.0.0.1:port — the URL the API is configured with. */
  url: string;
  password: string;
  mails: ReceivedMail[];
  /** Resolves with the first mail to `to` (containing `text`, if given) after the first `since` mails. */
  waitFor(to: string, since?: number, text?: string, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/**
 * A real SMTP server in-process (the `smtp-server` package) on 127.0.0.1 (or `host`: the
 * rehearsal's end of its container network): it requires AUTH with the user and password in its
 * URL, accepts every mail and keeps it for the test to read.
 */
export async function startSmtpSink(
  host = "127.0.0.1",
  /** Offer STARTTLS with this key and certificate (PEM); without it the sink speaks plain SMTP only. */
  starttls?: { key: string; cert: string },
): Promise<SmtpSink> {
  const user = "todo-api";
  const password = `smtp-secret-${Math.random().toString(36).slice(2)}`;
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    secure: false,
    ...(starttls ? { key: starttls.key, cert: starttls.cert } : { disabledCommands: ["STARTTLS"] }),
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN"],
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
    logger: false,
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://${user}:${password}@${host}:${port}`,
    password,
    mails,
    async waitFor(to, since = 0, text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = mails.slice(since).find((m) => m.to.includes(to) && (text === undefined || m.raw.includes(text)));
        if (found) return found;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The code in an account mail: a line of 43 base64url characters (256 bits). */
export function tokenIn(mail: ReceivedMail): string {
  // Decode quoted-printable as a mail client would: soft line breaks, then =XX escapes.
  const text = mail.raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const match = /^([A-Za-z0-9_-]{43})\r?$/m.exec(text);
  if (!match) throw new Error(`no token in mail:\n${mail.raw}`);
  return match[1]!;
}

/**
 * A throw-away self-signed certificate for an IP address (openssl), for a sink that offers
 * STARTTLS: clients verify it with `cert` as their CA (curl: CURL_CA_BUNDLE).
 */
export function selfSignedCertificate(ip: string): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "smtp-cert-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${ip}`]
        .concat(["-addext", `subjectAltName=IP:${ip}`, "-days", "2"])
        .concat(["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]),
      { stdio: "ignore" },
    );
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
