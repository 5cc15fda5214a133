/** Schemas shared by routes: the problem document and common shapes. Schema only. */
import { Type } from '@sinclair/typebox';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    requestId: Type.String(),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details with a stable code' },
);

/**
 * Error responses every route may give. They are added to the OpenAPI document (not to each
 * route's schema: a serializer per error class per route would cost start-up time for nothing).
 */
export const PROBLEM_RESPONSES = {
  '4XX': { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: ProblemSchema } } },
  '5XX': { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: ProblemSchema } } },
};

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });
