// Bench-only preload (node --expose-gc --require this): on SIGUSR2 the process runs a full garbage
// collection and prints its process.memoryUsage() as one line on stderr, so that bench/idle.ts can
// read what stays resident once garbage is gone. Never loaded outside the benchmarks.
process.on('SIGUSR2', () => {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  process.stderr.write(`bench-memory ${JSON.stringify(process.memoryUsage())}\n`);
});
