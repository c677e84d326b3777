// @libp2p/yamux 8.x: send a window update only once half the receive window
// is consumed (as go-yamux and the Yamux spec's reference implementation do),
// not after every data frame. Stock yamux answers every data frame with a
// 12-byte WINDOW_UPDATE frame, i.e. one extra write (and wake-up on the other
// side) per message in each direction.
// Upstream: https://github.com/libp2p/js-libp2p/issues/2394 (yamux sends too
// many window updates); go-yamux: session.go sendWindowUpdate / GrowTo(max/2).
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
