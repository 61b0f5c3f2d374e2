import { describe, expect, it } from 'vitest';
import { readServiceSettings } from '../src/app/service-settings.js';
import { InversifyMikroOrmError } from '../src/index.js';

const configError = (env: Record<string, string>) => {
  try {
    readServiceSettings(env);
  } catch (error) {
    return error as InversifyMikroOrmError;
  }
  throw new Error('expected readServiceSettings to throw');
};

describe('shutdown settings', () => {
  it('default to a 500 ms grace for idle connections and a 10 s bound on in-flight requests', () => {
    expect(readServiceSettings({})).toMatchObject({ shutdownGraceMs: 500, shutdownTimeoutMs: 10_000 });
  });

  it('read SHUTDOWN_GRACE_MS and SHUTDOWN_TIMEOUT_MS', () => {
    expect(readServiceSettings({ SHUTDOWN_GRACE_MS: '250', SHUTDOWN_TIMEOUT_MS: '3000' })).toMatchObject({
      shutdownGraceMs: 250,
      shutdownTimeoutMs: 3000,
    });
  });

  it('default to no delay before the drain, and read SHUTDOWN_DELAY_MS', () => {
    expect(readServiceSettings({})).toMatchObject({ shutdownDelayMs: 0 });
    expect(readServiceSettings({ SHUTDOWN_DELAY_MS: '1500' })).toMatchObject({ shutdownDelayMs: 1500 });
  });

  it('refuse a SHUTDOWN_DELAY_MS that is not a whole number, naming it', () => {
    const error = configError({ SHUTDOWN_DELAY_MS: '1s' });
    expect(error.kind).toBe('config');
    expect(error.message).toContain('SHUTDOWN_DELAY_MS must be a whole number from 0 to');
    expect(error.message).toContain('(got "1s")');
  });

  it('refuse a SHUTDOWN_GRACE_MS that is not a whole number, naming it', () => {
    const error = configError({ SHUTDOWN_GRACE_MS: '0.5s' });
    expect(error).toBeInstanceOf(InversifyMikroOrmError);
    expect(error.kind).toBe('config');
    expect(error.message).toContain('SHUTDOWN_GRACE_MS must be a whole number from 0 to');
    expect(error.message).toContain('(got "0.5s")');
  });

  it('keep the default grace within a SHUTDOWN_TIMEOUT_MS below 500 ms', () => {
    expect(readServiceSettings({ SHUTDOWN_TIMEOUT_MS: '200' })).toMatchObject({
      shutdownGraceMs: 200,
      shutdownTimeoutMs: 200,
    });
  });

  it('refuse a grace longer than the timeout, naming both', () => {
    const error = configError({ SHUTDOWN_GRACE_MS: '2000', SHUTDOWN_TIMEOUT_MS: '1000' });
    expect(error.kind).toBe('config');
    expect(error.message).toContain('SHUTDOWN_GRACE_MS (2000) must not exceed SHUTDOWN_TIMEOUT_MS (1000)');
  });

  it('list a bad grace together with other bad variables in one error', () => {
    const error = configError({ SHUTDOWN_GRACE_MS: 'soon', PORT: 'http' });
    expect(error.message).toContain('SHUTDOWN_GRACE_MS must be');
    expect(error.message).toContain('PORT must be');
  });
});
