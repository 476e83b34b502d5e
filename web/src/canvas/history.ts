/** Undo/redo over snapshots of the graph; a new snapshot drops the redo branch. */
export class History<T> {
  private past: T[] = [];
  private future: T[] = [];

  constructor(
    private present: T,
    private readonly limit = 100,
  ) {}

  get current(): T {
    return this.present;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** Record `next` as the new present (the old present becomes undoable). */
  push(next: T): void {
    this.past.push(this.present);
    if (this.past.length > this.limit) this.past.shift();
    this.present = next;
    this.future = [];
  }

  /** Replace the present without an undo step (e.g. the saved state right after loading). */
  reset(present: T): void {
    this.past = [];
    this.future = [];
    this.present = present;
  }

  /** Update the present in place (typing in a field is one undo step, not one per key). */
  replace(present: T): void {
    this.present = present;
  }

  undo(): T | null {
    const previous = this.past.pop();
    if (previous === undefined) return null;
    this.future.push(this.present);
    this.present = previous;
    return previous;
  }

  redo(): T | null {
    const next = this.future.pop();
    if (next === undefined) return null;
    this.past.push(this.present);
    this.present = next;
    return next;
  }
}
