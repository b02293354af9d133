// Undo and redo of prompt edits: each edit is {object, frame, before, after}, where before and
// after are the frame's prompts as PUT /prompts takes them ({points, negative, box, strokes,
// mask}); undoing puts `before` back, redoing puts `after`.

export class History {
  constructor() {
    this.undos = [];
    this.redos = [];
  }

  push(edit) {
    this.undos.push(edit);
    this.redos = [];
  }

  /** The edit to undo (moved to the redo stack), or undefined. */
  undo() {
    const edit = this.undos.pop();
    if (edit) this.redos.push(edit);
    return edit;
  }

  redo() {
    const edit = this.redos.pop();
    if (edit) this.undos.push(edit);
    return edit;
  }

  /** Put an edit back where it came from when sending it failed. */
  restore(edit, undone) {
    if (undone) this.undos.push(this.redos.pop());
    else this.redos.push(this.undos.pop());
  }

  clear() {
    this.undos = [];
    this.redos = [];
  }
}

/** The prompts body of one frame as GET /v1/sessions/{sid} describes them (or none). */
export function promptsBody(described) {
  if (!described) return { points: [], negative: [], box: null, strokes: [], mask: false };
  return {
    points: described.points.map((p) => [...p]),
    negative: described.negative.map((p) => [...p]),
    box: described.box ? [...described.box] : null,
    strokes: described.strokes.map((s) => ({ points: s.points.map((p) => [...p]),
      positive: s.positive, width: s.width })),
    mask: Boolean(described.mask),
  };
}
