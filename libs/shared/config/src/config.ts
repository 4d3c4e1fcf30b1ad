/**
 * Typed configuration read once at boot from the environment. Every variable has its parser and
 * default in one place; a bad value stops the process with a message that names the variable.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`configuration: ${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface Setting<T> {
  readonly parse: (raw: string, variable: string) => T;
  readonly defaultValue?: T;
}

export type Schema = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

export function readConfig<S extends Schema>(
  schema: S,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigOf<S> {
  const config: Record<string, unknown> = {};
  for (const [variable, setting] of Object.entries(schema)) {
    const raw = env[variable];
    if (raw === undefined || raw === '') {
      if (!('defaultValue' in setting)) throw new ConfigError(variable, 'is required');
      config[variable] = setting.defaultValue;
    } else {
      config[variable] = setting.parse(raw, variable);
    }
  }
  return config as ConfigOf<S>;
}

export function integerSetting(options: {
  min: number;
  max: number;
  defaultValue?: number;
}): Setting<number> {
  return {
    ...(options.defaultValue === undefined ? {} : { defaultValue: options.defaultValue }),
    parse: (raw, variable) => {
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(variable, `must be an integer, got '${raw}'`);
      const value = Number(raw);
      if (value < options.min || value > options.max) {
        throw new ConfigError(
          variable,
          `must be between ${options.min} and ${options.max}, got ${value}`,
        );
      }
      return value;
    },
  };
}

export function stringSetting(
  options: { pattern?: RegExp; defaultValue?: string } = {},
): Setting<string> {
  return {
    ...(options.defaultValue === undefined ? {} : { defaultValue: options.defaultValue }),
    parse: (raw, variable) => {
      if (options.pattern && !options.pattern.test(raw)) {
        throw new ConfigError(variable, `must match ${String(options.pattern)}, got '${raw}'`);
      }
      return raw;
    },
  };
}

export function enumSetting<T extends string>(values: readonly T[], defaultValue?: T): Setting<T> {
  return {
    ...(defaultValue === undefined ? {} : { defaultValue }),
    parse: (raw, variable) => {
      if (!(values as readonly string[]).includes(raw)) {
        throw new ConfigError(variable, `must be one of ${values.join(', ')}, got '${raw}'`);
      }
      return raw as T;
    },
  };
}

export function booleanSetting(defaultValue?: boolean): Setting<boolean> {
  return {
    ...(defaultValue === undefined ? {} : { defaultValue }),
    parse: (raw, variable) => {
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(variable, `must be true or false, got '${raw}'`);
    },
  };
}
