// The walls between src/ folders and webview/ (docs/ architecture: "Folders and what each may import").
// Checked by `npm run check:walls` (tools/check-walls.mjs), over src/ and webview/; test/ and tools/ are
// not checked. Every import counts, type-only ones included (`import type`, `export type ... from`).
//
// Parser: TypeScript 7 (the project's compiler) has no JavaScript compiler API, which dependency-cruiser's
// `tsc` parser needs (it accepts typescript >=2 <7), so .ts files are parsed with swc (`@swc/core`).
// swc keeps type-only imports in its syntax tree, so they are checked like any other import.
//
// How paths look here: a project file is its path from the repository root (`src/engine/model.ts`), a
// library is the file it resolves to (`node_modules/onnxruntime-node/dist/index.js`; `vscode` resolves
// to `node_modules/@types/vscode/index.d.ts`), a node built-in is its bare name (`fs`), dependency type
// `core`. An import that does not resolve keeps its name as written and is reported only by
// `no-unresolvable-imports` (the allow-list rules say `couldNotResolve: false`), so nothing slips past
// the walls that way and nothing is reported twice.

/** A library's files, as resolved paths (an unresolved import is `no-unresolvable-imports`'s). */
const lib = (name) => `(^|/)node_modules/${name.replace(/[.]/g, '\\.')}/`;

const VSCODE = lib('@types/vscode');
const ONNXRUNTIME = lib('onnxruntime-node');
const TOKENIZERS = lib('@huggingface/tokenizers');
const JSONC = lib('jsonc-parser');
const ONNX_PROTO = lib('onnx-proto');
const FFLATE = lib('fflate');
const JS_YAML = lib('js-yaml');
const PLOTLY = lib('plotly.js-strict-dist-min');
const UI_TOOLKIT = lib('@vscode/webview-ui-toolkit');

/** Host may use these engine modules: spec parsing (for ranges and diagnostics) and pure helpers. */
const HOST_ENGINE_ALLOWED = '^src/engine/(spec/|errors\\.ts$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    // ---- vscode
    {
      name: 'no-vscode-outside-host',
      comment:
        'Only src/host runs inside VS Code. protocol, engine, worker, client and cli also run in a ' +
        'worker thread or a terminal, and webview runs in a browser: none of them can load `vscode`.',
      severity: 'error',
      from: { path: '^(src|webview)/', pathNot: '^src/host/' },
      to: { path: VSCODE },
    },

    // ---- protocol
    {
      name: 'protocol-is-a-leaf',
      comment:
        'src/protocol holds the plain data types and messages every boundary shares; host, worker, ' +
        'client, cli and the browser-side webview all import it, so it imports nothing outside itself ' +
        '(not the engine, not even a node built-in or a type from elsewhere).',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { couldNotResolve: false, pathNot: ['^src/protocol/', VSCODE] },
    },

    // ---- engine
    {
      name: 'engine-no-outer-folders',
      comment:
        'src/engine is the pure model code under everything else: it must not reach up into the ' +
        'worker, the client, the host, the cli or the webview.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^(src/(worker|client|host|cli)|webview)/' },
    },
    {
      name: 'engine-allowed-imports',
      comment:
        'src/engine may import protocol, node built-ins and its libraries (@huggingface/tokenizers, ' +
        'onnx-proto, jsonc-parser, fflate and js-yaml for the sparse-dictionary readers). onnxruntime-node belongs to src/worker, the only owner of sessions.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: {
        couldNotResolve: false,
        dependencyTypesNot: ['core'],
        pathNot: [
          '^src/(engine|protocol)/',
          '^(src/(worker|client|host|cli)|webview)/', // engine-no-outer-folders
          VSCODE, // no-vscode-outside-host
          TOKENIZERS,
          ONNX_PROTO,
          JSONC,
          FFLATE,
          JS_YAML,
        ],
      },
    },

    // ---- worker
    {
      name: 'worker-allowed-imports',
      comment:
        'src/worker is the worker thread: it runs the engine and owns the onnxruntime sessions, so it ' +
        'imports engine, protocol, onnxruntime-node and node built-ins; never the client that starts ' +
        'it, the host, the cli or the webview.',
      severity: 'error',
      from: { path: '^src/worker/' },
      to: {
        couldNotResolve: false,
        dependencyTypesNot: ['core'],
        pathNot: ['^src/(worker|engine|protocol)/', ONNXRUNTIME, VSCODE],
      },
    },

    // ---- client
    {
      name: 'client-allowed-imports',
      comment:
        'src/client starts the worker and sends it protocol requests for host and cli: it imports ' +
        'protocol and node built-ins only, never the engine (model work happens in the worker) or ' +
        'onnxruntime-node, so neither gets into the extension host bundle through it.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: {
        couldNotResolve: false,
        dependencyTypesNot: ['core'],
        pathNot: ['^src/(client|protocol)/', VSCODE],
      },
    },

    // ---- host
    {
      name: 'host-no-onnxruntime',
      comment:
        'The extension host never runs a model: InferenceSession.run is a synchronous native call ' +
        'that would freeze every extension. Model work goes to the worker through src/client.',
      severity: 'error',
      from: { path: '^src/host/' },
      to: { path: ONNXRUNTIME },
    },
    {
      name: 'host-no-tokenizer-library',
      comment:
        'Building a tokenizer takes hundreds of milliseconds on GPT-2-sized vocabularies; on the ' +
        'extension host thread that freezes every extension. Tokenizing happens in the worker.',
      severity: 'error',
      from: { path: '^src/host/' },
      to: { path: TOKENIZERS },
    },
    {
      name: 'host-no-worker',
      comment:
        'The host talks to the worker through src/client and protocol messages; importing src/worker ' +
        'would pull the runner (and onnxruntime-node) into the extension host.',
      severity: 'error',
      from: { path: '^src/host/' },
      to: { path: '^src/worker/' },
    },
    {
      name: 'host-engine-only-spec-parsing',
      comment:
        'From src/engine the host may use only spec parsing (src/engine/spec/**, for ranges and ' +
        'diagnostics) and pure helpers that neither read files nor run models (src/engine/errors.ts). ' +
        'Checkpoint readers, tokenizers, graph builders and analyses run in the worker.',
      severity: 'error',
      from: { path: '^src/host/' },
      to: { path: '^src/engine/', pathNot: HOST_ENGINE_ALLOWED },
    },
    {
      name: 'host-allowed-imports',
      comment:
        'Anything else src/host imports must be vscode, protocol, the client, node built-ins or ' +
        'jsonc-parser: not the cli, not the webview (browser code), not other libraries.',
      severity: 'error',
      from: { path: '^src/host/' },
      to: {
        couldNotResolve: false,
        dependencyTypesNot: ['core'],
        pathNot: [
          '^src/(host|protocol|client)/',
          VSCODE,
          JSONC,
          '^src/(engine|worker)/', // host-engine-only-spec-parsing, host-no-worker
          ONNXRUNTIME, // host-no-onnxruntime
          TOKENIZERS, // host-no-tokenizer-library
        ],
      },
    },

    // ---- cli
    {
      name: 'cli-no-worker',
      comment:
        'The cli sends the same protocol requests as the host to the same worker, through src/client; ' +
        'it does not load the worker\'s modules in its own thread.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/worker/' },
    },
    {
      name: 'cli-no-onnxruntime',
      comment:
        'onnxruntime sessions belong to the worker (the only owner of sessions); the cli runs models ' +
        'through src/client, and uses the engine only for offline tools such as reports.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: ONNXRUNTIME },
    },
    {
      name: 'cli-allowed-imports',
      comment:
        'src/cli may import protocol, the client, the engine (offline tools), node built-ins and ' +
        'jsonc-parser: not the host (VS Code code) and not the webview (browser code).',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: {
        couldNotResolve: false,
        dependencyTypesNot: ['core'],
        pathNot: [
          '^src/(cli|protocol|client|engine)/',
          JSONC,
          VSCODE, // no-vscode-outside-host
          '^src/worker/', // cli-no-worker
          ONNXRUNTIME, // cli-no-onnxruntime
        ],
      },
    },

    // ---- webview
    {
      name: 'webview-no-engine',
      comment:
        'webview/ is browser code of the panels: it draws the slices the host sends, described by ' +
        'protocol types; engine code (and its types) stays out of it.',
      severity: 'error',
      from: { path: '^webview/' },
      to: { path: '^src/engine/' },
    },
    {
      name: 'webview-no-host',
      comment: 'webview/ runs in the panel\'s browser; src/host runs in the extension host. They meet only through protocol messages.',
      severity: 'error',
      from: { path: '^webview/' },
      to: { path: '^src/host/' },
    },
    {
      name: 'webview-allowed-imports',
      comment:
        'webview/ imports only protocol, its own files, plotly.js-strict-dist-min and ' +
        '@vscode/webview-ui-toolkit: no node built-ins, no other src/ folder, no other library.',
      severity: 'error',
      from: { path: '^webview/' },
      to: {
        couldNotResolve: false,
        pathNot: [
          '^webview/',
          '^src/protocol/',
          PLOTLY,
          UI_TOOLKIT,
          VSCODE, // no-vscode-outside-host
          '^src/(engine|host)/', // webview-no-engine, webview-no-host
        ],
      },
    },

    // ---- across folders
    {
      name: 'no-cycles-between-folders',
      comment:
        'Folders form a one-way stack (protocol <- engine <- worker; protocol <- client <- host, cli; ' +
        'protocol <- webview): two folders that import each other, through any of their modules or ' +
        'subfolders, are one tangle. Checked on the folder graph, so it also catches A -> B and ' +
        'B -> A through different modules, which is no module cycle. Cycles whose folders all lie ' +
        'inside one top folder (src/engine/analysis <-> src/engine) are allowed.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^(src/[^/]+|webview)(/|$)' },
      to: { circular: true, pathNot: '^$1(/|$)' },
    },
    {
      name: 'no-unresolvable-imports',
      comment:
        'An import that does not resolve cannot be checked against the walls (and fails the build ' +
        'later); usually a file that moved.',
      severity: 'error',
      from: { path: '^(src|webview)/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'cycle-inside-folder',
      comment: 'Module cycles inside one folder are allowed; listed for information only.',
      severity: 'info',
      from: { path: '^(src/[^/]+|webview)/' },
      to: { circular: true, viaOnly: { path: '^$1/' } },
    },
  ],
  options: {
    // Only the project's own modules are followed; libraries are the end of a path.
    doNotFollow: { path: ['node_modules'] },
    parser: 'swc',
    // Count type-only imports too (used by the `tsc` parser; swc keeps them anyway).
    tsPreCompilationDeps: true,
    // tsconfig.webview.json extends tsconfig.json and has no paths of its own, so one tsconfig
    // resolves src/ and webview/ alike (relative imports, node_modules packages).
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
