// @libp2p/utils 7.x: LengthPrefixedDecoder ends every decode() by calling the
// length decoder on an empty buffer and catching the RangeError it throws
// (noise decodes every incoming message this way; a throw and catch per
// message). Stop when the buffer is empty instead.
// Upstream: the same pattern was reported for mplex's decoder in
// https://github.com/ChainSafe/lodestar/issues/3467 ("90% of the time was used
// to throw RangeError"); no issue for @libp2p/utils' LengthPrefixedDecoder was
// found (to be filed against packages/utils).
export default {
  package: '@libp2p/utils',
  versions: /^7\./,
  file: 'dist/src/length-prefixed-decoder.js',
  edits: [
    {
      from: `        while (true) {
            let dataLength;
            try {`,
      to: `        while (true) {
            let dataLength;
            // mcp-mesh patch: no throw and catch to find an empty buffer
            if (this.buffer.byteLength === 0) {
                break;
            }
            try {`
    }
  ]
}
