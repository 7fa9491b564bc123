/** The node cannot start (not a member, unreadable key, corrupt store...). */
export class NodeStartError extends Error {
  override readonly name = "NodeStartError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
