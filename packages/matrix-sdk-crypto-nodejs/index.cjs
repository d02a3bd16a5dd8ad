'use strict';
/**
 * Stand-in for @matrix-org/matrix-sdk-crypto-nodejs, whose native binary cannot
 * be installed from the npm registry. matrix-bot-sdk requires that binding at
 * load time; npm `overrides` in Visite's package.json point it here instead.
 *
 * We expose the same Rust crypto, compiled to WebAssembly and shipped inside
 * @matrix-org/matrix-sdk-crypto-wasm. Names that exist in both are the wasm
 * classes. Where the Node binding's API differs (OlmMachine.initialize with a
 * store path, StoreType), this module bridges it; see README.md.
 */
const wasm = require('@matrix-org/matrix-sdk-crypto-wasm');

/** The Node binding's store kinds. The wasm build persists through IndexedDB instead. */
const StoreType = Object.freeze({ Sled: 0, Sqlite: 1 });

module.exports = { ...wasm, StoreType };
