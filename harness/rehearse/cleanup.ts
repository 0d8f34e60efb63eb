/**
 * Everything the rehearsal creates on the host (container process, overlay mount, network
 * namespace, NAT table, mirror server, temporary directories) registers its undo action here.
 * They run in reverse order exactly once: at the end of a run, on failure, or on Ctrl-C/SIGTERM.
 * Each action is independent: one failing does not stop the others.
 */
export class Cleanup {
  private readonly actions: { name: string; undo: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  add(name: string, undo: () => Promise<void> | void): void {
    this.actions.push({ name, undo });
  }

  runAll(): Promise<void> {
    this.running ??= (async () => {
      while (this.actions.length > 0) {
        const action = this.actions.pop()!;
        try {
          await action.undo();
        } catch (error) {
          process.stderr.write(`cleanup: ${action.name} failed: ${(error as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }

  /** On SIGINT/SIGTERM/SIGHUP: clean up, then exit with 128+signal like a shell would report. */
  installSignalHandlers(afterCleanup: () => void = () => undefined): void {
    const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    for (const [signal, code] of Object.entries(codes)) {
      process.once(signal, () => {
        process.stderr.write(`\n${signal}: cleaning up…\n`);
        void this.runAll().finally(() => {
          afterCleanup();
          process.exit(code);
        });
      });
    }
  }
}
