// The service behind the proxy benchmark: a small JSON response and an SSE stream, plain node:http.
import http from 'node:http';

const small = Buffer.from('{"ok":true,"model":"bench","tokens":[1,2,3]}');
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
  res.writeHead(404);
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
