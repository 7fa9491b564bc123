/**
 * The architecture check (`npm run arch`, also run by `npm test`): the layers of node/, lowest
 * first, as written in CONTRIBUTING.md. A folder may import its own files and folders listed
 * before it, never one listed after it, so no two folders can import each other either.
 */
const NODE_LAYERS = [
  "errors", // the one error base: imports nothing
  "consensus", // the pure Raft core: imports only the error base
  "codec",
  "ops",
  "keys",
  "threshold", // pure threshold cryptography: imports only errors and codec
  "domain",
  "commitments",
  "intake",
  "storage",
  "transport",
  "rpc",
  "l1",
  "raftnode",
  "batching",
  "app",
  "watchtower",
  "sequencer",
  "cli",
];

const upward = NODE_LAYERS.flatMap((layer, rank) => {
  const above = NODE_LAYERS.slice(rank + 1);
  if (above.length === 0) return [];
  return [
    {
      name: `layer-${layer}`,
      comment: `node/${layer} sits below ${above.join(", ")}: it may not import them (CONTRIBUTING.md, Layout)`,
      severity: "error",
      from: { path: `^node/${layer}/` },
      to: { path: `^node/(${above.join("|")})/` },
    },
  ];
});

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "node-folders-known",
      comment: "every folder of node/ has a place in the layer list (.dependency-cruiser.cjs, CONTRIBUTING.md)",
      severity: "error",
      from: { path: "^node/" },
      to: { path: "^node/", pathNot: `^node/(${NODE_LAYERS.join("|")})/` },
    },
    {
      name: "no-test-imports",
      comment: "the product (node/), its tools (scripts/) and the simulator (sim/) never import test code",
      severity: "error",
      from: { path: "^(node|scripts|sim)/" },
      to: { path: "^test/" },
    },
    {
      name: "node-is-self-contained",
      comment: "node/ is what operators run: it imports neither the tools (scripts/) nor the simulator (sim/)",
      severity: "error",
      from: { path: "^node/" },
      to: { path: "^(scripts|sim)/" },
    },
    {
      name: "sim-uses-only-the-core",
      comment: "the simulator drives the pure core and nothing with I/O",
      severity: "error",
      from: { path: "^sim/" },
      to: { path: "^(scripts|node/(?!consensus/|codec/))" },
    },
    {
      name: "no-circular",
      comment: "no import cycles between modules",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|artifacts|cache)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
