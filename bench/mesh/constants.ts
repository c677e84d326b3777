/** Protocol of the bare js-libp2p echo peer (the floor of the mesh-call bench). */
export const RAW_ECHO_PROTOCOL = '/bench/raw-echo/1.0.0'
