/**
 * Minifies the CSS inside Lit `css` tagged templates at build time, so the sources keep readable
 * CSS (one declaration a line, comments) while the script-tag bundle carries none of that
 * whitespace: a bundler minifies JavaScript, but a template literal's text is data it must keep.
 *
 * The minifier is deliberately careful rather than clever. It strips comments, collapses runs of
 * whitespace to one space and drops that space only next to characters where CSS never needs it
 * (`{ } ; , >` on both sides, after `( :`, before `) !`); it drops the `;` before a `}` and the
 * `0` of `0.5`. Strings, `url(...)` and escapes pass through untouched, and `${}` interpolations
 * stay exactly where they were, with the whitespace around them kept unless a neighbour above
 * makes it redundant. It never renames or reorders anything, so the result means what the source
 * meant. It works on a template's raw text (as written in the source), so a JavaScript escape such
 * as `\\` or `` \` `` is carried over as written.
 */
import { parseAst, type Plugin } from 'vite';

/** Interpolations become these (private-use code points) while the text around them is minified. */
const HOLE_OPEN = '\uE000';
const HOLE_CLOSE = '\uE001';

/** No space is needed on either side of these. */
const TIGHT_BOTH = new Set(['{', '}', ';', ',', '>']);
/** No space is needed after these (`a :hover` differs from `a:hover`, so never before a colon). */
const TIGHT_AFTER = new Set([...TIGHT_BOTH, '(', ':']);
/** No space is needed before these (`and (` must keep its space, so never before an opening paren). */
const TIGHT_BEFORE = new Set([...TIGHT_BOTH, ')', '!']);

const WHITESPACE = /[ \t\n\r\f]/;
const HEX = /[0-9a-fA-F]/;
/** Characters that, written just before `0.5`, make its `0` part of something else (`10.5`, `a0.5`). */
const NUMBER_CONTINUES = /[\w.\\\-\u0080-\uFFFF]/;

/**
 * Minifies one stylesheet's raw text. `${}` interpolations may appear as HOLE_OPEN + index +
 * HOLE_CLOSE: they are treated as words and come back unchanged.
 */
export function minifyCss(source: string): string {
  let out = '';
  let lastToken = '';
  let pendingSpace = false;
  let i = 0;

  const emit = (text: string): void => {
    if (text === '') return;
    if (pendingSpace && out !== '' && !TIGHT_AFTER.has(out[out.length - 1] ?? '') && !TIGHT_BEFORE.has(text[0] ?? '')) out += ' ';
    pendingSpace = false;
    out += text;
    lastToken = text;
  };

  while (i < source.length) {
    const char = source[i] ?? '';

    if (WHITESPACE.test(char)) {
      pendingSpace = true;
      i++;
      continue;
    }

    // Comments go (they are not whitespace: `a/**/b` is two tokens with nothing between them).
    if (char === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end === -1 ? source.length : end + 2;
      continue;
    }

    // A string, verbatim up to its closing quote (an escaped character never closes it).
    if (char === '"' || char === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== char) j += source[j] === '\\' ? (source[j + 1] === '\\' ? 3 : 2) : 1;
      emit(source.slice(i, Math.min(j + 1, source.length)));
      i = j + 1;
      continue;
    }

    // An unquoted url(...) keeps its contents as written.
    if ((char === 'u' || char === 'U') && /^url\(/i.test(source.slice(i, i + 4)) && !NUMBER_CONTINUES.test(source[i - 1] ?? ' ')) {
      let j = i + 4;
      while (j < source.length && WHITESPACE.test(source[j] ?? '')) j++;
      if (source[j] !== '"' && source[j] !== "'") {
        const end = source.indexOf(')', j);
        const stop = end === -1 ? source.length : end + 1;
        emit(source.slice(i, stop));
        i = stop;
        continue;
      }
    }

    if (char === '\\') {
      if (source[i + 1] === '\\') {
        // `\\` in the source is one backslash in the CSS: a CSS escape of what follows. A hex
        // escape ends at a single optional whitespace character, which belongs to it.
        let j = i + 2;
        if (HEX.test(source[j] ?? '')) {
          const start = j;
          while (j < source.length && j - start < 6 && HEX.test(source[j] ?? '')) j++;
          if (WHITESPACE.test(source[j] ?? '')) j++;
        } else {
          j++;
        }
        emit(source.slice(i, j));
        i = j;
      } else {
        // A JavaScript escape (`` \` ``, `\$`, `\n`, ...): kept as written.
        emit(source.slice(i, i + 2));
        i += 2;
      }
      continue;
    }

    if (char === HOLE_OPEN) {
      const end = source.indexOf(HOLE_CLOSE, i);
      emit(source.slice(i, end + 1));
      i = end + 1;
      continue;
    }

    // `0.5` → `.5`, unless the 0 continues a number or a name.
    if (char === '0' && source[i + 1] === '.' && /\d/.test(source[i + 2] ?? '') && !NUMBER_CONTINUES.test(source[i - 1] ?? ' ')) {
      emit('.');
      i += 2;
      continue;
    }

    // The last declaration of a block needs no `;`.
    if (char === '}' && lastToken === ';') out = out.slice(0, -1);
    emit(char);
    i++;
  }
  return out;
}

interface Node {
  readonly type: string;
  readonly start: number;
  readonly end: number;
}
interface TemplateLiteral extends Node {
  readonly quasis: readonly (Node & { readonly value: { readonly raw: string } })[];
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/** Every template literal tagged with a plain `css` identifier, in source order or not. */
function cssTemplates(node: unknown, found: TemplateLiteral[] = []): TemplateLiteral[] {
  if (Array.isArray(node)) {
    for (const child of node) cssTemplates(child, found);
  } else if (isNode(node)) {
    const tagged = node as Node & { tag?: unknown; quasi?: unknown };
    if (
      node.type === 'TaggedTemplateExpression' &&
      isNode(tagged.tag) &&
      tagged.tag.type === 'Identifier' &&
      (tagged.tag as { name?: unknown }).name === 'css'
    ) {
      found.push(tagged.quasi as TemplateLiteral);
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'type' && typeof value === 'object') cssTemplates(value, found);
  }
  return found;
}

/**
 * Minifies every `css` tagged template of a module (JavaScript or TypeScript); returns null when
 * there is none, so the module passes through untouched.
 */
export function minifyLitCss(code: string, lang: 'js' | 'ts' = 'ts'): string | null {
  if (!code.includes('css`') || code.includes(HOLE_OPEN)) return null;
  const templates = cssTemplates(parseAst(code, { lang }));
  if (templates.length === 0) return null;
  // Replacing from the end keeps the earlier offsets valid.
  const edits: { start: number; end: number; text: string }[] = [];
  for (const template of templates) {
    const joined = template.quasis.map((quasi, index) => (index === 0 ? '' : `${HOLE_OPEN}${index - 1}${HOLE_CLOSE}`) + quasi.value.raw).join('');
    const parts = minifyCss(joined).split(/\uE000\d+\uE001/);
    if (parts.length !== template.quasis.length) throw new Error(`lit-css-minify: lost an interpolation at offset ${template.start}`);
    template.quasis.forEach((quasi, index) => {
      // ESTree spans a quasi's text alone; TS-ESTree (TypeScript sources) includes its delimiters,
      // one character before it (`` ` `` or `}`).
      const start = quasi.end - quasi.start === quasi.value.raw.length ? quasi.start : quasi.start + 1;
      edits.push({ start, end: start + quasi.value.raw.length, text: parts[index] ?? '' });
    });
  }
  let result = code;
  for (const edit of edits.sort((a, b) => b.start - a.start)) result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  return result;
}

/** The Vite/Rolldown plugin: minifies the `css` templates of the project's own modules. */
export function litCssMinify(): Plugin {
  return {
    name: 'lit-css-minify',
    apply: 'build',
    transform: {
      filter: { id: { exclude: /node_modules/ }, code: 'css`' },
      handler(code, id) {
        const path = id.split('?')[0] ?? id;
        if (!/\.[cm]?[jt]s$/.test(path)) return null;
        const result = minifyLitCss(code, /\.[cm]?ts$/.test(path) ? 'ts' : 'js');
        return result === null ? null : { code: result, map: null };
      },
    },
  };
}
