// Builds the console into dist/: the bundle (esbuild, ES2022, minified, with a source map)
// and the static files. `node build.mjs` or `npm run build`.
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const out = `${here}dist`;
await mkdir(out, { recursive: true });
await esbuild.build({
  entryPoints: [`${here}src/main.ts`],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: `${out}/app.js`,
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) await copyFile(`${here}${file}`, `${out}/${file}`);
console.log(`built ${out}`);
