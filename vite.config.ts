import { defineConfig } from 'vite';
import { litCssMinify } from './tools/lit-css-minify.ts';

/**
 * Builds the one script-tag bundle: `dist/widget/srs-widget.js`, an ES module that defines
 * `<srs-rating>` and `<srs-therapist>`. The server serves it at `/widget/srs-widget.js`.
 */
export default defineConfig({
  // The components' CSS is written readably; the bundle gets it minified.
  plugins: [litCssMinify()],
  build: {
    outDir: 'dist/widget',
    emptyOutDir: true,
    target: 'es2022',
    minify: true,
    // Library mode keeps whitespace for downstream bundlers; a script-tag bundle wants it gone.
    // Code shared by the entry and the lazily loaded therapist view stays in the entry, so a
    // client page loads exactly one file.
    rolldownOptions: { output: { minify: true }, preserveEntrySignatures: 'allow-extension' },
    lib: {
      entry: 'widget/index.ts',
      formats: ['es'],
      fileName: () => 'srs-widget.js',
    },
  },
});
