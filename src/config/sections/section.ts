/** Builds a config section: a strict object whose missing keys take their defaults. */
import { Type, type TProperties } from '@sinclair/typebox';

export function section<P extends TProperties>(description: string, properties: P) {
  return Type.Object(properties, { default: {}, additionalProperties: false, description });
}
