// The service behind the proxy benchmark: a small JSON response and an SSE stream, plain node:http.
import http from 'node:http';

const small = Buffer.from('{"ok":true,"model":"bench","tokens":[1,2,3]}');
const TOKENS = ['Hello', ',', ' world', '!', ' How', ' can', ' I', ' help', '?'];
const server = http.createServer((req, res) => {
  if (req.url === '/small' || req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': small.length });
    res.end(small);
    return;
  }
  if (req.url?.startsWith('/sse')) {
    // Token stream: the first event at once, then a few more, then the end.
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: {"token":"Hello"}\n\n');
    let i = 0;
    const t = setInterval(() => {
      if (++i > 3) {
        clearInterval(t);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.write(`data: {"token":"${i}"}\n\n`);
    }, 2);
    res.on('close', () => clearInterval(t));
    return;
  }
  if (req.url === '/v1/chat/completions' && req.method === 'POST') {
    // An OpenAI-compatible token stream, as an LLM server sends it: one SSE event per token, the
    // first at once (time to first token is then the proxy's own latency), the rest 1 ms apart.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const send = () => {
        if (i === TOKENS.length) {
          res.end('data: [DONE]\n\n');
          return;
        }
        res.write(
          `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'bench', choices: [{ index: 0, delta: { content: TOKENS[i++] }, finish_reason: null }] })}\n\n`,
        );
        timer = setTimeout(send, 1);
      };
      let timer = null;
      res.on('close', () => clearTimeout(timer));
      send();
    });
    return;
  }
  res.writeHead(404);
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
