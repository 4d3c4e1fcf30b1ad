import {
  ConfigError,
  booleanSetting,
  enumSetting,
  integerSetting,
  readConfig,
  stringSetting,
} from './config';

const schema = {
  CELLPAY_SLOT_COUNT: integerSetting({ min: 1, max: 16_384, defaultValue: 100 }),
  CELLPAY_CELL_ID: stringSetting({ pattern: /^cell-[0-9]{1,3}$/ }),
  CELLPAY_MODE: enumSetting(['embedded', 'cluster'] as const, 'embedded'),
  CELLPAY_GL_DEFERRED: booleanSetting(false),
};

describe('readConfig', () => {
  it('applies defaults and parses typed values', () => {
    expect(readConfig(schema, { CELLPAY_CELL_ID: 'cell-2', CELLPAY_GL_DEFERRED: 'true' })).toEqual({
      CELLPAY_SLOT_COUNT: 100,
      CELLPAY_CELL_ID: 'cell-2',
      CELLPAY_MODE: 'embedded',
      CELLPAY_GL_DEFERRED: true,
    });
  });

  it.each([
    [{}, /CELLPAY_CELL_ID: is required/],
    [{ CELLPAY_CELL_ID: 'cell-x' }, /CELLPAY_CELL_ID: must match/],
    [
      { CELLPAY_CELL_ID: 'cell-1', CELLPAY_SLOT_COUNT: '0' },
      /CELLPAY_SLOT_COUNT: must be between 1 and 16384, got 0/,
    ],
    [
      { CELLPAY_CELL_ID: 'cell-1', CELLPAY_SLOT_COUNT: '1.5' },
      /CELLPAY_SLOT_COUNT: must be an integer/,
    ],
    [
      { CELLPAY_CELL_ID: 'cell-1', CELLPAY_MODE: 'cloud' },
      /CELLPAY_MODE: must be one of embedded, cluster/,
    ],
    [
      { CELLPAY_CELL_ID: 'cell-1', CELLPAY_GL_DEFERRED: 'yes' },
      /CELLPAY_GL_DEFERRED: must be true or false/,
    ],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => readConfig(schema, env)).toThrow(ConfigError);
    expect(() => readConfig(schema, env)).toThrow(message);
  });
});
