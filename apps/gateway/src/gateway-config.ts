import {
  ConfigError,
  type ConfigOf,
  enumSetting,
  integerSetting,
  readConfig,
  stringSetting,
} from '@cellpay/config';

/** Every variable the gateway process reads, with its default, validated once at boot. */
export const gatewayConfigSchema = {
  CELLPAY_GRPC_HOST: stringSetting({ defaultValue: '0.0.0.0' }),
  CELLPAY_GRPC_PORT: integerSetting({ min: 0, max: 65_535, defaultValue: 50_051 }),
  CELLPAY_OPS_PORT: integerSetting({ min: 0, max: 65_535, defaultValue: 9_464 }),
  CELLPAY_GLOBAL_MYSQL_URL: stringSetting({ pattern: /^mysql:\/\/.+/ }),
  CELLPAY_REDIS_URL: stringSetting({ pattern: /^redis:\/\/.+/ }),
  CELLPAY_REDIS_PREFIX: stringSetting({ pattern: /^[a-z0-9_:-]{1,64}$/, defaultValue: 'cellpay' }),
  /**
   * Base64 of the 32-byte key that seals credential secrets in the global zone. No pattern: a
   * pattern error would echo the value, and this one is a secret (checked below instead).
   */
  CELLPAY_CREDENTIAL_KEK: stringSetting(),
  /** Where each cell's internal API listens: `cell-1=host:port,cell-2=host:port`. */
  CELLPAY_CELL_ADDRESSES: stringSetting({ pattern: /^cell-\d{1,4}=[^,]+(,cell-\d{1,4}=[^,]+)*$/ }),
  CELLPAY_CELL_CALL_DEADLINE_MS: integerSetting({ min: 50, max: 60_000, defaultValue: 3_000 }),
  CELLPAY_DRAIN_TIMEOUT_MS: integerSetting({ min: 0, max: 120_000, defaultValue: 10_000 }),
  /** Optional mTLS on the public listener: PEM file paths; all three or none. */
  CELLPAY_TLS_CA_FILE: stringSetting({ defaultValue: '' }),
  CELLPAY_TLS_CERT_FILE: stringSetting({ defaultValue: '' }),
  CELLPAY_TLS_KEY_FILE: stringSetting({ defaultValue: '' }),
  LOG_LEVEL: enumSetting(['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const, 'info'),
};

export type GatewayConfig = ConfigOf<typeof gatewayConfigSchema>;

export function readGatewayConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): GatewayConfig {
  const config = readConfig(gatewayConfigSchema, env);
  if (Buffer.from(config.CELLPAY_CREDENTIAL_KEK, 'base64').length !== 32) {
    throw new ConfigError('CELLPAY_CREDENTIAL_KEK', 'must be the base64 of exactly 32 bytes');
  }
  const tlsFiles = [
    config.CELLPAY_TLS_CA_FILE,
    config.CELLPAY_TLS_CERT_FILE,
    config.CELLPAY_TLS_KEY_FILE,
  ].filter((file) => file !== '');
  if (tlsFiles.length !== 0 && tlsFiles.length !== 3) {
    throw new ConfigError(
      'CELLPAY_TLS_CA_FILE',
      'mTLS needs CELLPAY_TLS_CA_FILE, CELLPAY_TLS_CERT_FILE and CELLPAY_TLS_KEY_FILE together',
    );
  }
  return config;
}

export function cellAddressesOf(value: string): ReadonlyMap<string, string> {
  return new Map(
    value.split(',').map((entry) => {
      const [cellId = '', address = ''] = entry.split('=');
      return [cellId, address] as const;
    }),
  );
}
