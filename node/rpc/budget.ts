/**
 * Bytes the server holds for its clients at once, drawn from nested budgets.
 *
 * Responses: each message (an HTTP body or a WebSocket message, a whole batch included) gets a
 * budget of at most `maxResponseBytes`, drawn from its client's `maxResponseBytesPerClient`,
 * drawn from the server's `maxResponseBytesInFlight`. A handler that builds a large result draws
 * as it goes (`ctx.budget.reserve`), and the server draws whatever a result holds beyond that
 * before it answers; a result that does not fit is answered OVERLOADED instead. What a message
 * drew is given back once its response has left the process (or its connection closed), so a
 * client that does not read, or queues pipelined requests behind an unread answer, holds its
 * answers inside the budget too: no client, one batch or many connections, can make the node
 * hold more than the server's total, and one client no more than its share of it.
 *
 * Requests: the bytes of an HTTP body, counted as they stream in, and of a WebSocket message
 * while it is handled, are drawn from the server's `maxBodyBytesInFlight` the same way.
 */
export class ByteBudget {
  private used = 0;

  constructor(
    readonly limit: number,
    private readonly parent?: ByteBudget,
  ) {}

  get remaining(): number {
    return this.limit - this.used;
  }

  get held(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit here and in every parent; false, and nothing taken, otherwise. */
  reserve(bytes: number): boolean {
    if (bytes > this.remaining) return false;
    if (this.parent !== undefined && !this.parent.reserve(bytes)) return false;
    this.used += bytes;
    return true;
  }

  /** Gives everything taken back, to every parent (the message was answered). */
  release(): void {
    this.parent?.giveBack(this.used);
    this.used = 0;
  }

  private giveBack(bytes: number): void {
    this.used -= bytes;
    this.parent?.giveBack(bytes);
  }
}
