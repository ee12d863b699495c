/**
 * Where the server's log lines go, from `[log] format / output / syslog / syslog-facility`, and how a reload
 * changes it: the format at once, the output when it (or the syslog target) changed.
 */
import type { ServerConfig } from "../config/config.js";
import { SYSLOG_FACILITIES } from "../config/log-config.js";
import { openSyslogSink, type SyslogSink } from "../io/syslog.js";
import { Logger } from "../server/log.js";
import type { LogCategory } from "../session/log-category.js";

export class LogSetup {
  readonly logger: Logger;
  private syslog: SyslogSink | undefined;
  private output: string;

  constructor(log: ServerConfig["log"], categories: readonly LogCategory[]) {
    this.logger = new Logger({ categories, format: log.format });
    this.output = LogSetup.key(log);
    this.openOutput(log);
  }

  private static key(log: ServerConfig["log"]): string {
    return log.output === "syslog" ? `syslog ${log.syslog.host}:${log.syslog.port} ${log.syslogFacility}` : "stderr";
  }

  private openOutput(log: ServerConfig["log"]): void {
    if (log.output !== "syslog") return;
    this.syslog = openSyslogSink(log.syslog, SYSLOG_FACILITIES[log.syslogFacility]);
    this.logger.setSink(this.syslog.write);
  }

  /** SIGHUP: the new format, categories, and output. */
  reload(log: ServerConfig["log"], categories: readonly LogCategory[]): void {
    this.logger.setCategories(categories);
    this.logger.setFormat(log.format);
    const key = LogSetup.key(log);
    if (key === this.output) return;
    this.output = key;
    const old = this.syslog;
    this.syslog = undefined;
    if (log.output === "syslog") this.openOutput(log);
    else this.logger.setSink((line) => process.stderr.write(line + "\n"));
    old?.close();
    this.logger.log("events", `log output now ${key}`);
  }

  close(): void {
    this.syslog?.close();
  }
}
