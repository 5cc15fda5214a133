/** For guard unit tests: what a call threw, as its stable code (`ok` when it returned). */
export function outcome(call: () => unknown): string {
  try {
    call();
    return 'ok';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string') throw err;
    return code;
  }
}
