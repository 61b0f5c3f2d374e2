import type { EventEmitter } from 'node:events';
import type { ClientConfig } from 'pg';
import { InversifyMikroOrmError } from './errors.js';
import { pg } from './mikro-orm-pg.js';

const BOUND_MECHANISM = 'SCRAM-SHA-256-PLUS';

/** What the server asks for during the login, as `pg`'s connection reports it. */
interface AuthenticationSasl {
  mechanisms: string[];
}

/**
 * libpq's `channel_binding=require` for `pg`, which only has "bind when the server offers it": the
 * login must be SCRAM-SHA-256-PLUS, which ties it to this very TLS connection. With `sslmode=require`
 * the certificate is not checked, so binding is the only proof that the TLS connection ends at the
 * server and not at a man in the middle, who would simply ask for the password in clear text, or
 * offer SCRAM without binding, or let the client in without a password exchange. Each of those is
 * refused before a password (or a proof derived from it) is sent, as libpq does.
 */
export class ChannelBindingClient extends pg.Client {
  constructor(config?: ClientConfig) {
    super(config);
    // pg picks SCRAM-SHA-256-PLUS whenever offered once this is set (the config cannot be copied to
    // set it: pg-pool hides the password in it as a non-enumerable property).
    (this as unknown as { enableChannelBinding: boolean }).enableChannelBinding = true;
    this.#guard((this as unknown as { connection: EventEmitter & { stream: { end(): void } } }).connection);
  }

  /**
   * Sees each login message before `pg` answers it. After a refusal the connection is closed and
   * nothing else the server sent is handed on, so `pg` cannot go on to answer it.
   */
  #guard(connection: EventEmitter & { stream: { end(): void } }): void {
    const emit = connection.emit.bind(connection);
    let offeredBinding = false;
    let exchangeCompleted = false;
    let refused = false;
    const refuse = (what: string): boolean => {
      refused = true;
      emit('error', this.#refusal(what));
      connection.stream.end();
      return true;
    };
    connection.emit = (event: string | symbol, ...args: unknown[]): boolean => {
      if (refused) return event === 'end' || event === 'error' ? emit(event, ...args) : false;
      switch (event) {
        case 'authenticationCleartextPassword':
          return refuse('asked for the password in clear text');
        case 'authenticationMD5Password':
          return refuse('asked for an MD5 password hash');
        case 'authenticationSASL': {
          const { mechanisms } = args[0] as AuthenticationSasl;
          if (!mechanisms.includes(BOUND_MECHANISM)) {
            return refuse(`offered only ${mechanisms.join(', ')}, without ${BOUND_MECHANISM}`);
          }
          offeredBinding = true;
          break;
        }
        case 'authenticationSASLFinal':
          exchangeCompleted = true;
          break;
        case 'authenticationOk':
          if (!offeredBinding || !exchangeCompleted) {
            return refuse('let the login in without a SCRAM exchange (trust or certificate authentication)');
          }
          break;
      }
      return emit(event, ...args);
    };
  }

  #refusal(what: string): InversifyMikroOrmError {
    return new InversifyMikroOrmError(
      'config',
      `PostgreSQL at ${this.host}:${this.port}/${this.database} ${what}, and DATABASE_URL has channel_binding=require, so the login was abandoned before any password was sent. Channel binding needs the server to authenticate with SCRAM-SHA-256 over TLS (pg_hba.conf method scram-sha-256, the password stored as SCRAM). If this is the server you meant, fix its authentication; if it should be, something between may be intercepting the connection. Not retried: retrying cannot fix this.`,
    );
  }
}
