// The declarations of the ES module entry (lib/index.mjs): those of the CommonJS entry,
// re-exported, and the whole module as the default export.
export * from './index.js';
import * as concur from './index.js';
export default concur;
