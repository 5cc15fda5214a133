/**
 * Nesting depth of a JSON text, measured without parsing it. Stack exhaustion: a 20 KB body of
 * 10,000 nested arrays parses fine but overflows the stack in every recursive walk after it
 * (canonical JSON, sealing, templates, JSON.stringify itself), so the depth is checked first, in one
 * iterative pass over the text (strings skipped, escapes honoured). Pure.
 */
import { GatewayError } from '../errors.js';

const OPEN_BRACE = 123; // {
const OPEN_BRACKET = 91; // [
const CLOSE_BRACE = 125; // }
const CLOSE_BRACKET = 93; // ]
const QUOTE = 34; // "
const BACKSLASH = 92; // \

/** Whether `text` nests arrays and objects deeper than `max` levels (malformed text is the parser's business). */
export function jsonTooDeep(text: string, max: number): boolean {
  // Each level costs at least one character: a short text cannot be deep.
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** Throws 400 json_too_deep when `text` nests deeper than `max`. */
export function checkJsonDepth(text: string, max: number): void {
  if (jsonTooDeep(text, max)) throw new GatewayError('json_too_deep', `the JSON body nests deeper than ${max} levels (limits.maxJsonDepth)`);
}
