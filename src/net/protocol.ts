/** Protocol constants shared by the reading and writing sides. */

/** One long-lived stream per direction; varint length-prefixed protobuf `Frame`s (wire.proto), FIFO. */
export const PAXOS_PROTOCOL = "/chiselstore/paxos/1.0.0";

/** Default cap of one frame. A larger frame closes the stream (the sender must split its batches). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Largest message reassembled from fragments (a snapshot in an AcceptSync). */
export const DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024 * 1024;
