/**
 * Services registered through the API stored their idle stop as `idleStopAfterMs` (milliseconds);
 * the key is now `idleStopAfter` (seconds). Stored specs are rewritten so that they still load.
 */
export default `
UPDATE services
   SET spec = json_remove(json_set(spec, '$.idleStopAfter', json_extract(spec, '$.idleStopAfterMs') / 1000.0), '$.idleStopAfterMs')
 WHERE json_type(spec, '$.idleStopAfterMs') IS NOT NULL;
`;
