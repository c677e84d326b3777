// @libp2p/tcp 11.x: write a multi-buffer message (noise's 2-byte length plus
// its ciphertext, yamux's header plus data) with one writev system call
// instead of one write per buffer: cork the socket around the loop.
// Upstream: noise fixed this once by concatenating the length prefix with the
// ciphertext, https://github.com/ChainSafe/js-libp2p-noise/pull/387 ("Sending
// lots of tiny buffers kills TCP performance"); the noise in js-libp2p 3
// (@libp2p/noise 17, EncryptedMessageStream.encrypt) returns them as two
// buffers of a Uint8ArrayList again and @libp2p/tcp writes each one. No open
// js-libp2p issue was found; corking in the TCP transport fixes every
// multi-buffer sender at once.
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
