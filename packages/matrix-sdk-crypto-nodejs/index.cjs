module.exports = require("@matrix-org/matrix-sdk-crypto-wasm");
