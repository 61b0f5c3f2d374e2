import type { AppLifecycle, Logger } from 'inversify-mikro-orm';

/**
 * SIGTERM/SIGINT start a graceful stop (readiness turns 503, the server drains, the ORM closes)
 * and exit 0 when it is done; a second signal exits at once.
 */
export function stopOnSignals(lifecycle: AppLifecycle, log: Logger, exit: (code: number) => void = process.exit): void {
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      log.warn({ signal }, 'Second signal while stopping: exiting now');
      exit(1);
      return;
    }
    received = signal;
    const booting = lifecycle.state === 'starting';
    log.info({ signal }, booting ? 'Shutting down: abandoning the boot' : 'Shutting down: draining in-flight requests');
    lifecycle.stop().then(
      () => {
        log.info({ signal }, 'Stopped cleanly');
        exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'Stop failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
