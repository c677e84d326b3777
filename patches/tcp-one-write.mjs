// @libp2p/tcp 11.x: write a multi-buffer message (noise's 2-byte length plus
// its ciphertext, yamux's header plus data) with one writev system call
// instead of one write per buffer: cork the socket around the loop.
// Upstream: https://github.com/libp2p/js-libp2p/issues/2896 (noise/tcp write
// the length prefix and the ciphertext as separate TCP writes).
export default {
  package: '@libp2p/tcp',
  versions: /^11\./,
  file: 'dist/src/socket-to-conn.js',
  edits: [
    {
      from: `        let canSendMore = true;
        for (const buf of data) {
            sentBytes += buf.byteLength;
            canSendMore = this.socket.write(buf);
            if (!canSendMore) {
                break;
            }
        }`,
      to: `        let canSendMore = true;
        // mcp-mesh patch: one writev for all the buffers of a message
        const cork = data.bufs != null && data.bufs.length > 1;
        if (cork) this.socket.cork();
        for (const buf of data) {
            sentBytes += buf.byteLength;
            canSendMore = this.socket.write(buf);
            if (!canSendMore) {
                break;
            }
        }
        if (cork) this.socket.uncork();`
    }
  ]
}
