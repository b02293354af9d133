// Zoom and pan of the frame: the stage (image + markers) is sized and placed inside the
// viewport, which clips it. `scale` is CSS pixels per plate pixel; (x, y) the stage's top-left
// corner in the viewport, CSS pixels. Nothing is transformed with CSS transforms: the stage's
// own box is always where the image is drawn, so view.js maps pointer positions from it.

const MIN_ZOOM = 0.05;
const MAX_ZOOM = 32; // plate pixels this many CSS pixels wide: enough for hair on a 4K plate

export class Zoom {
  constructor(viewport, stage, onChange) {
    this.viewport = viewport;
    this.stage = stage;
    this.onChange = onChange;
    this.width = 1; // plate size, pixels
    this.height = 1;
    this.scale = 1;
    this.x = 0;
    this.y = 0;
    this.fitted = true; // follows the viewport's size until the artist zooms or pans
  }

  setPlate(width, height) {
    this.width = width;
    this.height = height;
    this.fit();
  }

  /** The viewport's size in CSS pixels. */
  room() {
    return [this.viewport.clientWidth, this.viewport.clientHeight];
  }

  /** The scale at which the whole plate fits the viewport. */
  fitScale() {
    const [w, h] = this.room();
    return Math.min(w / this.width, h / this.height);
  }

  fit() {
    const [w, h] = this.room();
    this.scale = this.fitScale();
    this.x = (w - this.width * this.scale) / 2;
    this.y = (h - this.height * this.scale) / 2;
    this.fitted = true;
    this.apply();
  }

  /** One plate pixel per device pixel ("100%"), about the viewport's centre. */
  actualSize() {
    const [w, h] = this.room();
    this.zoomAt(w / 2, h / 2, 1 / devicePixelRatio);
  }

  /** Set the scale keeping the plate point under viewport position (cx, cy) in place. */
  zoomAt(cx, cy, scale) {
    const s = Math.min(Math.max(scale, MIN_ZOOM), MAX_ZOOM);
    const px = (cx - this.x) / this.scale;
    const py = (cy - this.y) / this.scale;
    this.scale = s;
    this.x = cx - px * s;
    this.y = cy - py * s;
    this.fitted = false;
    this.apply();
  }

  /** A wheel event over the viewport: zoom about the pointer. */
  wheel(event) {
    const rect = this.viewport.getBoundingClientRect();
    const factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
    this.zoomAt(event.clientX - rect.left, event.clientY - rect.top, this.scale * factor);
  }

  panBy(dx, dy) {
    this.x += dx;
    this.y += dy;
    this.fitted = false;
    this.apply();
  }

  /** Refit after the viewport changed size, unless the artist chose a view of their own. */
  resized() {
    if (this.fitted) this.fit();
    else this.apply();
  }

  apply() {
    const style = this.stage.style;
    style.width = `${this.width * this.scale}px`;
    style.height = `${this.height * this.scale}px`;
    style.left = `${this.x}px`;
    style.top = `${this.y}px`;
    this.onChange?.();
  }

  /** The zoom as a percentage of plate pixels per device pixel. */
  percent() {
    return Math.round(this.scale * devicePixelRatio * 100);
  }
}
