/**
 * A QR code drawn from uqr's boolean matrix as one SVG path (no HTML string, nothing for Trusted
 * Types to refuse). It only ever encodes a sign-in link (`#signin=<single-use code>`), never a token.
 */
import { html } from 'htm/preact';
import { encode } from 'uqr';

/** The dark modules as one path: a horizontal run of modules is one rectangle. */
export function qrPath(data: boolean[][]): string {
  const parts: string[] = [];
  data.forEach((row, y) => {
    let x = 0;
    while (x < row.length) {
      if (!row[x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < row.length && row[x]) x++;
      parts.push(`M${start} ${y}h${x - start}v1h${start - x}z`);
    }
  });
  return parts.join('');
}

export function Qr({ text, label }: { text: string; label: string }) {
  // A quiet zone of 4 modules (ISO/IEC 18004), drawn by uqr's border.
  const { data, size } = encode(text, { ecc: 'M', border: 4 });
  return html`<svg class="qr" role="img" aria-label=${label} viewBox=${`0 0 ${size} ${size}`} shape-rendering="crispEdges" xmlns="http://www.w3.org/2000/svg">
    <rect class="qr-bg" width=${size} height=${size} />
    <path class="qr-fg" d=${qrPath(data)} />
  </svg>`;
}
