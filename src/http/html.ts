/**
 * A tagged template that escapes every interpolated value unless it is already `Html` (the output of
 * another `html` call, or `raw()` for trusted constant markup). Arrays are joined. Escaping is the
 * default, so forgetting it is not a way to inject markup.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

type Interpolation = Html | string | number | bigint | null | undefined | false | Interpolation[];

function render(v: Interpolation): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i] as Interpolation) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Marks constant, trusted markup as safe. Never pass user input. */
export const raw = (s: string): Html => new Html(s);
