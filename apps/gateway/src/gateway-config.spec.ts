import { randomBytes } from 'node:crypto';

import { ConfigError } from '@cellpay/config';

import { cellAddressesOf, readGatewayConfig } from './gateway-config';

const kek = randomBytes(32).toString('base64');
const valid = {
  CELLPAY_GLOBAL_MYSQL_URL: 'mysql://cellpay:cellpay@127.0.0.1:3400/cellpay_global',
  CELLPAY_REDIS_URL: 'redis://127.0.0.1:6390',
  CELLPAY_CREDENTIAL_KEK: kek,
  CELLPAY_CELL_ADDRESSES: 'cell-1=127.0.0.1:50061,cell-2=127.0.0.1:50062',
};

function refusal(env: Record<string, string>): ConfigError {
  try {
    readGatewayConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('gateway configuration', () => {
  it('reads a valid environment with its defaults', () => {
    const config = readGatewayConfig(valid);
    expect(config.CELLPAY_GRPC_PORT).toBe(50_051);
    expect(config.CELLPAY_OPS_PORT).toBe(9_464);
    expect(cellAddressesOf(config.CELLPAY_CELL_ADDRESSES)).toEqual(
      new Map([
        ['cell-1', '127.0.0.1:50061'],
        ['cell-2', '127.0.0.1:50062'],
      ]),
    );
  });

  it('refuses a key that is not 32 bytes without echoing it', () => {
    const secretLooking = Buffer.from('sixteen-byte-key').toString('base64');
    const error = refusal({ ...valid, CELLPAY_CREDENTIAL_KEK: secretLooking });
    expect(error.message).toMatch(/CELLPAY_CREDENTIAL_KEK/);
    expect(error.message).not.toContain(secretLooking);
  });

  it('refuses malformed cell addresses and half an mTLS setup, naming the variable', () => {
    expect(refusal({ ...valid, CELLPAY_CELL_ADDRESSES: 'cell-1' }).message).toMatch(
      /CELLPAY_CELL_ADDRESSES/,
    );
    expect(refusal({ ...valid, CELLPAY_TLS_CA_FILE: '/tmp/ca.pem' }).message).toMatch(
      /CELLPAY_TLS_CA_FILE/,
    );
  });
});
