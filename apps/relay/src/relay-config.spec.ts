import { ConfigError } from '@cellpay/config';

import { mysqlEndpointOf } from '@cellpay/connections';

import { readRelayConfig } from './relay-config';

const required = {
  CELLPAY_CELL_ID: 'cell-2',
  CELLPAY_MYSQL_URL: 'mysql://cellpay:secret@127.0.0.1:3421/cellpay_cell_2',
  CELLPAY_KAFKA_BROKERS: '127.0.0.1:9192,127.0.0.1:9292',
};

describe('relay configuration', () => {
  it('reads the required variables and fills the defaults', () => {
    expect(readRelayConfig(required)).toMatchObject({
      CELLPAY_CELL_ID: 'cell-2',
      CELLPAY_KAFKA_TOPIC_PREFIX: 'cellpay',
      CELLPAY_OUTBOX_BATCH_SIZE_MAX: 500,
      CELLPAY_OPS_PORT: 9466,
      CELLPAY_GLOBAL_MYSQL_URL: '',
    });
    expect(mysqlEndpointOf(required.CELLPAY_MYSQL_URL, 'CELLPAY_MYSQL_URL')).toEqual({
      host: '127.0.0.1',
      port: 3421,
      user: 'cellpay',
      password: 'secret',
      database: 'cellpay_cell_2',
    });
  });

  it.each([
    ['CELLPAY_CELL_ID', { ...required, CELLPAY_CELL_ID: 'two' }],
    ['CELLPAY_MYSQL_URL', { ...required, CELLPAY_MYSQL_URL: '' }],
    ['CELLPAY_KAFKA_BROKERS', { ...required, CELLPAY_KAFKA_BROKERS: 'a, b' }],
    ['CELLPAY_OUTBOX_BATCH_SIZE_MAX', { ...required, CELLPAY_OUTBOX_BATCH_SIZE_MAX: '0' }],
    ['CELLPAY_REDIS_URL', { ...required, CELLPAY_GLOBAL_MYSQL_URL: 'mysql://u:p@h:1/g' }],
  ])('refuses a bad %s, naming it', (variable, env) => {
    expect(() => readRelayConfig(env)).toThrow(ConfigError);
    expect(() => readRelayConfig(env)).toThrow(variable);
  });

  it('refuses a shard URL without a database', () => {
    expect(() => mysqlEndpointOf('mysql://u:p@h:3306/', 'CELLPAY_MYSQL_URL')).toThrow(
      /CELLPAY_MYSQL_URL/,
    );
  });
});
