/** Schemas shared by routes' requests (responses are the API's, in src/api/). Schema only. */
import { Type } from '@sinclair/typebox';

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });
