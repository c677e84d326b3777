/** Protocol of the bare js-libp2p echo peer (the floor of the mesh-call bench). */
export const RAW_ECHO_PROTOCOL = '/bench/raw-echo/1.0.0'
/** Protocol of the bare JSON-RPC echo peer behind the bare forwarder (the "ideal" remote path of the speed bench). */
export const IDEAL_PROTOCOL = '/bench/ideal-jsonrpc/1.0.0'
