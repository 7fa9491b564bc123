/**
 * Bytes of JSON-RPC results the server holds for its clients at once. Each message (an HTTP body
 * or a WebSocket message, a whole batch included) gets a budget of at most `maxResponseBytes`,
 * drawn from the server's `maxResponseBytesInFlight`: a handler that builds a large result draws
 * as it goes (`ctx.budget.reserve`), and the server draws whatever a result holds beyond that
 * before it answers. A result that does not fit is answered OVERLOADED instead, so no client, one
 * batch or many connections, can make the node hold more than the server's total.
 */
export class ResponseBudget {
  private used = 0;

  constructor(
    readonly limit: number,
    private readonly parent?: ResponseBudget,
  ) {}

  get remaining(): number {
    return this.limit - this.used;
  }

  /** Takes `bytes` if they fit here and in the parent; false, and nothing taken, otherwise. */
  reserve(bytes: number): boolean {
    if (bytes > this.remaining) return false;
    if (this.parent !== undefined && !this.parent.reserve(bytes)) return false;
    this.used += bytes;
    return true;
  }

  /** Gives everything taken back (the message was answered). */
  release(): void {
    this.parent?.giveBack(this.used);
    this.used = 0;
  }

  private giveBack(bytes: number): void {
    this.used -= bytes;
  }
}
