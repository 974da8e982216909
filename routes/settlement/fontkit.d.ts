// fontkit 2 ships no type declarations; only `create` is used (see fontkit-subset.ts).
declare module 'fontkit' {
  export function create(buffer: Uint8Array, postscriptName?: string): unknown
}
