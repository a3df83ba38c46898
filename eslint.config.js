// The project's lint rules: typescript-eslint's recommended set, limits on how
// complex one function may grow, promises that are awaited or handled, and the
// dependency rule of the architecture (DESIGN section 5) as import restrictions.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Files under `folder` may import nothing from the named sibling folders of src/. */
const mayNotImport = (folder, forbidden, why) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: forbidden.map((f) => `**/${f}/**`), message: why }] }],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tmp/', 'test/kstatus/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      complexity: ['error', 10],
      'max-depth': ['error', 3],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', globalThis: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
  mayNotImport('kube', ['api', 'render', 'controller', 'runtime', 'cli', 'image'], 'kube/ is generic Kubernetes machinery: it imports nothing of the product, nor runtime/.'),
  mayNotImport('runtime', ['api', 'render', 'controller', 'cli', 'image'], 'runtime/ is generic controller machinery: it imports nothing of the product (DESIGN section 5).'),
  mayNotImport('api', ['render', 'controller', 'kube', 'runtime', 'cli', 'image'], 'api/ is the bottom of api <- render <- controller.'),
  mayNotImport('render', ['controller', 'kube', 'runtime', 'cli', 'image'], 'render/ is pure: api <- render <- controller.'),
  mayNotImport('image', ['api', 'render', 'controller', 'kube', 'runtime', 'cli'], 'image/ reads and judges images: it knows nothing of DistrolessApps (DESIGN section 5).'),
  mayNotImport('controller', ['cli'], 'controller/ is called by the composition root in cli/, not the other way round.'),
);
