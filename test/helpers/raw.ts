/** Raw HTTP/1.1 over a TCP socket, for requests no HTTP client would send (bad Host headers, ...). */
import net from 'node:net';

export interface RawResponse {
  status: number;
  head: string;
  body: string;
  headers: Record<string, string>;
}

/** `localAddress`: the loopback address to send from (a client of its own, e.g. for its own audit entries). */
export function rawRequest(port: number, text: string, host = '127.0.0.1', timeoutMs = 5000, localAddress?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms: ${JSON.stringify(data.slice(0, 200))}`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk) => {
      data += chunk;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = data.slice(0, end);
      const len = /\r\ncontent-length: *(\d+)/i.exec(head);
      const body = data.slice(end + 4);
      if (len && Buffer.byteLength(body) < Number(len[1])) return;
      clearTimeout(timer);
      socket.destroy();
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(head.split(' ')[1]), head, body, headers });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (!data.includes('\r\n\r\n')) reject(new Error(`connection closed without a response: ${JSON.stringify(data)}`));
    });
  });
}
