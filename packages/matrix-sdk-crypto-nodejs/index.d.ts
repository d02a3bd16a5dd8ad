export * from '@matrix-org/matrix-sdk-crypto-wasm';
export declare const StoreType: { readonly Sled: 0; readonly Sqlite: 1 };
export type StoreType = (typeof StoreType)[keyof typeof StoreType];
