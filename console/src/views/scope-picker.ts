/** Scope checkboxes and a lifetime select, for new tokens and pairing codes. */
import { html } from 'htm/preact';

export function ScopePicker({
  legend,
  scopes,
  value,
  onChange,
}: {
  legend: string;
  scopes: readonly string[];
  value: string[];
  onChange: (v: string[]) => void;
}) {
  const toggle = (s: string, on: boolean) => onChange(on ? [...value.filter((x) => x !== s), s] : value.filter((x) => x !== s));
  return html`<fieldset class="scopes">
    <legend>${legend}</legend>
    ${scopes.map(
      (s) =>
        html`<label class="inline"><input type="checkbox" name="scope" value=${s} checked=${value.includes(s)} onChange=${(e: Event) => toggle(s, (e.currentTarget as HTMLInputElement).checked)} /> ${s}</label>`,
    )}
  </fieldset>`;
}

export function TtlSelect({
  id,
  label,
  options,
  value,
  onChange,
}: {
  id: string;
  label: string;
  options: Array<{ label: string; seconds: number | null }>;
  value: number | null;
  onChange: (v: number | null) => void;
}) {
  return html`<label for=${id}>${label}</label>
    <select id=${id} value=${value === null ? '' : String(value)} onChange=${(e: Event) => {
      const v = (e.currentTarget as HTMLSelectElement).value;
      onChange(v === '' ? null : Number(v));
    }}>
      ${options.map((o) => html`<option value=${o.seconds === null ? '' : String(o.seconds)}>${o.label}</option>`)}
    </select>`;
}
