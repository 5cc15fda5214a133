/** Schemas shared by routes: the problem document and common shapes. Schema only. */
import Type from 'typebox';

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

/** Error responses every route may give, for the OpenAPI document. */
export const problems = {
  '4xx': ProblemSchema,
  '5xx': ProblemSchema,
};

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });
