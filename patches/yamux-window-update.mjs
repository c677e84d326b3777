// @libp2p/yamux 8.x: send a window update only once half the receive window
// is consumed (as rust-yamux and py-libp2p do),
// not after every data frame. Stock yamux answers every data frame with a
// 12-byte WINDOW_UPDATE frame, i.e. one extra write (and wake-up on the other
// side) per message in each direction.
// Upstream: no js-libp2p issue for it was found (to be filed against
// packages/stream-multiplexer-yamux). The same change in the other
// implementations: rust-yamux https://github.com/libp2p/rust-yamux/pull/109
// (issue #100, "Send WindowUpdate message early": update once half the window
// is consumed) and py-libp2p https://github.com/libp2p/py-libp2p/pull/1269
// (50 % hysteresis).
export default {
  package: '@libp2p/yamux',
  versions: /^8\./,
  file: 'dist/src/stream.js',
  edits: [
    {
      from: `        // determine the flags if any
        const flags = this.getSendFlags();
        // If the stream has already been established`,
      to: `        // determine the flags if any
        const flags = this.getSendFlags();
        // mcp-mesh patch: update only once half the window is consumed
        if (flags === 0 && (this.recvWindow - this.recvWindowCapacity) < (this.recvWindow / 2)) {
            return;
        }
        // If the stream has already been established`
    }
  ]
}
