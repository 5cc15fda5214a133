/** Ajv options of the config validator, shared by the runtime compile and the build-time one. */
export const CONFIG_AJV_OPTIONS = {
  allErrors: true,
  useDefaults: true,
  strict: true,
  keywords: ['env', 'flag', 'weakens', 'secret', 'live'],
} as const;
