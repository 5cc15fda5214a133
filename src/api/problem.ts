/** The problem document every error response is (RFC 9457, with a stable code). Schema only. */
import { Type, type Static } from '@sinclair/typebox';

export const Problem = Type.Object(
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
export type Problem = Static<typeof Problem>;

/**
 * Error responses every route may give. They are added to the OpenAPI document (not to each
 * route's schema: a serializer per error class per route would cost start-up time for nothing).
 */
export const PROBLEM_RESPONSES = {
  '4XX': { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: Problem } } },
  '5XX': { description: 'Problem details (RFC 9457)', content: { 'application/problem+json': { schema: Problem } } },
};
