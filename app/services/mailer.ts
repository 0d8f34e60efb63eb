import nodemailer, { type Transporter } from "nodemailer";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/**
 * Where account mail goes. `available` is false in production without SMTP: the mail routes then
 * answer 503 rather than pretend (see config.ts, `mail`).
 */
export interface Mailer {
  readonly available: boolean;
  send(mail: Mail, logger: Pick<Logger, "info">): Promise<void>;
}

/** SMTP through nodemailer (`SMTP_URL`, e.g. smtps://user:pass@smtp.example.com:465). */
class SmtpMailer implements Mailer {
  readonly available = true;
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    // Short timeouts: a mail is sent after the response, but a dead relay must not pile up sockets.
    this.transport = nodemailer.createTransport(url, {
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    } as never);
  }

  async send(mail: Mail): Promise<void> {
    await this.transport.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text });
  }
}

/** Development and tests without SMTP: the mail is written to the log instead (never in production). */
class LogMailer implements Mailer {
  readonly available = true;
  async send(mail: Mail, logger: Pick<Logger, "info">): Promise<void> {
    logger.info(
      { mail: { to: mail.to, subject: mail.subject, text: mail.text } },
      "mail (no SMTP_URL set: logged, not sent)",
    );
  }
}

/** Production without SMTP: nothing can be sent, and the routes that need mail say so (503). */
class NoMailer implements Mailer {
  readonly available = false;
  async send(): Promise<void> {}
}

export function createMailer(mail: Config["mail"]): Mailer {
  if (mail.kind === "smtp") return new SmtpMailer(mail.url, mail.from);
  return mail.kind === "log" ? new LogMailer() : new NoMailer();
}
