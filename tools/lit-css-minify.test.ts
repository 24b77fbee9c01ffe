import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transform } from 'lightningcss';
import { parseAst } from 'vite';
import { describe, expect, it } from 'vitest';
import { minifyCss, minifyLitCss } from './lit-css-minify.ts';

/**
 * An independent CSS engine's reading of a stylesheet: two texts that print alike mean the same.
 * lightningcss keeps a var() fallback as the tokens written, spaces included; the one space the
 * minifier takes from such a list is after a comma, where no property's grammar reads it.
 */
function meaning(css: string): string {
  return transform({ filename: 'test.css', code: Buffer.from(css), minify: true })
    .code.toString()
    .replace(/,\s+/g, ',');
}

/** The raw text of every `css` template in a module (the widget's have no interpolations). */
function cssTexts(code: string): string[] {
  const texts: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node === 'object' && node !== null) {
      const n = node as { type?: string; tag?: { name?: string }; quasi?: { quasis: { value: { raw: string } }[] } };
      if (n.type === 'TaggedTemplateExpression' && n.tag?.name === 'css' && n.quasi) texts.push(n.quasi.quasis.map((q) => q.value.raw).join(''));
      Object.values(node).forEach(visit);
    }
  };
  visit(parseAst(code, { lang: 'ts' }));
  return texts;
}

function widgetSources(dir = 'widget'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return widgetSources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('minifyCss: whitespace and comments', () => {
  it('collapses a readable rule to one line', () => {
    expect(minifyCss('\n  /* the box */\n  .box {\n    padding: 0.75rem;\n    border: 2px solid;\n  }\n')).toBe('.box{padding:.75rem;border:2px solid}');
  });
  it('drops a comment without joining or splitting the tokens around it', () => {
    expect(minifyCss('a/* x */b')).toBe('ab');
    expect(minifyCss('margin: 0 /* none */ auto;')).toBe('margin:0 auto;');
    expect(minifyCss('a{b:c}/* unterminated')).toBe('a{b:c}');
  });
  it('drops the semicolon before a closing brace, but not an escaped one', () => {
    expect(minifyCss('a { b: c; }')).toBe('a{b:c}');
    expect(minifyCss('.x\\\\;{}')).toBe('.x\\\\;{}');
  });
});

describe('minifyCss: whitespace that means something stays', () => {
  const kept: [string, string][] = [
    ['.a :last-child { x: y }', '.a :last-child{x:y}'],
    ['.a .b { x: y }', '.a .b{x:y}'],
    ['.a [part=x] { x: y }', '.a [part=x]{x:y}'],
    ['@media screen and (min-width: 600px) { a { x: y } }', '@media screen and (min-width:600px){a{x:y}}'],
    ['a { width: calc(100% - 2px + 1rem * 2) }', 'a{width:calc(100% - 2px + 1rem * 2)}'],
    ['a { margin: 0 auto !important }', 'a{margin:0 auto!important}'],
    ['a > b, c ~ d + e { x: y }', 'a>b,c ~ d + e{x:y}'],
  ];
  it.each(kept)('%s', (source, expected) => {
    expect(minifyCss(source)).toBe(expected);
    expect(meaning(minifyCss(source))).toBe(meaning(source));
  });
});

describe('minifyCss: numbers', () => {
  it('drops the leading zero of a fraction, and only that', () => {
    expect(minifyCss('a { margin: 0.5rem 0 -0.25rem 10.5px; opacity: 0.5 }')).toBe('a{margin:.5rem 0 -0.25rem 10.5px;opacity:.5}');
    expect(minifyCss('.col0.5x, .a0.5 { x: 0 }')).toBe('.col0.5x,.a0.5{x:0}');
  });
});

describe('minifyCss: strings, urls and escapes pass through', () => {
  it('keeps strings as written', () => {
    expect(minifyCss('a::before { content: "a  /* b */  ;}" }')).toBe('a::before{content:"a  /* b */  ;}"}');
    expect(minifyCss("a { font-family: 'Open  Sans', serif }")).toBe("a{font-family:'Open  Sans',serif}");
    expect(minifyCss('a { content: "say \\\\"hi\\\\"  " }')).toBe('a{content:"say \\\\"hi\\\\"  "}');
  });
  it('keeps an unquoted url as written', () => {
    expect(minifyCss('a { background: url(data:image/png;base64,AA/*BB*/==) no-repeat }')).toBe(
      'a{background:url(data:image/png;base64,AA/*BB*/==) no-repeat}',
    );
    expect(minifyCss('a { background: url( "x y.png" ) }')).toBe('a{background:url("x y.png")}');
  });
  it('keeps the whitespace that ends a hex escape, and JavaScript escapes as written', () => {
    expect(minifyCss('.\\\\31 0 { x: y }')).toBe('.\\\\31 0{x:y}');
    expect(minifyCss('a { content: \\`x\\` }')).toBe('a{content:\\`x\\`}');
  });
});

describe('minifyLitCss: modules', () => {
  it('minifies css templates only, keeping interpolations in place', () => {
    const source = [
      "import { css, html } from 'lit';",
      "const size = '2px';",
      'export const styles = css`',
      '  :host {',
      '    margin: ${size} 0;',
      '    border: ${size} solid ${unsafeCSS(color)};',
      '  }',
      '  ${other} .inner { content: "${label}" }',
      '`;',
      'export const page = html`<p>  two  spaces  </p>`;',
      "const note = 'css`a { b: c }`';",
    ].join('\n');
    expect(minifyLitCss(source, 'js')).toBe(
      [
        "import { css, html } from 'lit';",
        "const size = '2px';",
        'export const styles = css`:host{margin:${size} 0;border:${size} solid ${unsafeCSS(color)}}${other} .inner{content:"${label}"}`;',
        'export const page = html`<p>  two  spaces  </p>`;',
        "const note = 'css`a { b: c }`';",
      ].join('\n'),
    );
  });
  it('handles TypeScript, and text before the template that is not ASCII', () => {
    const source = "const t: string = 'Loading…';\nclass A { static styles = [css`\n  :host { display: block; }\n` as CSSResult]; }";
    expect(minifyLitCss(source, 'ts')).toBe("const t: string = 'Loading…';\nclass A { static styles = [css`:host{display:block}` as CSSResult]; }");
  });
  it('leaves a module without css templates alone', () => {
    expect(minifyLitCss("const a = html`<b>  x  </b>`; const css = 'css`';", 'js')).toBeNull();
  });
});

describe('the widget stylesheets', () => {
  const sources = widgetSources().filter((path) => readFileSync(path, 'utf8').includes('css`'));
  it('are found', () => {
    expect(sources.length).toBeGreaterThanOrEqual(4);
  });
  it.each(sources)('%s: the minified CSS means what the source means, and is smaller', (path) => {
    const code = readFileSync(path, 'utf8');
    const minified = minifyLitCss(code, 'ts');
    expect(minified).not.toBeNull();
    const before = cssTexts(code);
    const after = cssTexts(minified ?? '');
    expect(after).toHaveLength(before.length);
    before.forEach((css, index) => {
      expect(meaning(after[index] ?? '')).toBe(meaning(css));
      expect(after[index]?.length).toBeLessThanOrEqual(css.length);
      expect(minifyCss(after[index] ?? '')).toBe(after[index]);
    });
  });
});
