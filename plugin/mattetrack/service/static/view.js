// The frame view: mapping between the displayed image (CSS pixels) and display-window pixels
// of the plate (origin top-left, x right, y down, pixel i covering [i, i+1)), and the SVG
// markers of points and boxes drawn over the preview.
//
// The preview PNG may be smaller than the plate (max_side), but the <img> is stretched to the
// stage box and the SVG's viewBox is the plate's full size, so every mapping goes from the
// element's box straight to full-resolution pixels and never through the PNG's own size.

const SVG = "http://www.w3.org/2000/svg";

// Overlay colours by object id, as the service's preview.py PALETTE (keep in step).
const PALETTE = [
  [1.0, 0.25, 0.25], [0.2, 0.8, 1.0], [1.0, 0.85, 0.1], [0.4, 1.0, 0.35],
  [1.0, 0.35, 0.9], [1.0, 0.55, 0.1], [0.55, 0.45, 1.0], [0.1, 1.0, 0.8],
];

export function objectColour(objectId) {
  const [r, g, b] = PALETTE[(objectId - 1) % PALETTE.length].map((v) => Math.round(v * 255));
  return `rgb(${r}, ${g}, ${b})`;
}

/** Display-window pixel [x, y] under a pointer event, clamped to the frame. */
export function toPlate(event, element, width, height) {
  const rect = element.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * width;
  const y = ((event.clientY - rect.top) / rect.height) * height;
  return [round2(clamp(x, 0, width)), round2(clamp(y, 0, height))];
}

/** Plate pixels per CSS pixel of `element` (for marker sizes that look the same at any zoom). */
export function plateScale(element, width) {
  const rect = element.getBoundingClientRect();
  return rect.width > 0 ? width / rect.width : 1;
}

/** [x0, y0, x1, y1] of two corners, in any order. */
export function boxOf(a, b) {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
}

/**
 * Redraw the markers: `marks` is a list of {object, points, negative, box, strokes} (plate
 * pixels; strokes: [{points, positive, width}]), `drag` a box being dragged ([x0, y0, x1, y1])
 * or a stroke being painted ({points, positive, width}) or null; `selected` the current object.
 */
export function drawMarks(svg, width, height, scale, marks, drag, selected) {
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const radius = 6 * scale;
  for (const mark of marks) {
    const colour = objectColour(mark.object);
    const dim = mark.object !== selected;
    for (const stroke of mark.strokes || []) svg.append(line(stroke, colour, dim));
    if (mark.box) svg.append(rect(mark.box, colour, "box", dim));
    for (const [x, y] of mark.points) svg.append(dot(x, y, radius, colour, "positive", dim));
    for (const [x, y] of mark.negative) svg.append(dot(x, y, radius, colour, "negative", dim));
  }
  if (Array.isArray(drag)) svg.append(rect(drag, "white", "drag", false));
  else if (drag) svg.append(line(drag, objectColour(selected ?? 1), false));
}

/**
 * The confidence strip under the scrubber, on a canvas: one bar per frame coloured from red
 * (confidence 0) to green (1), grey where there is none; keyframes as white ticks; suggested
 * frames as triangles; the current frame outlined.
 */
export function drawTimeline(canvas, first, last, confidence, keyframes, suggested, current,
  boundaries = []) {
  const w = Math.max(1, Math.round(canvas.clientWidth * devicePixelRatio));
  const h = Math.max(1, Math.round(canvas.clientHeight * devicePixelRatio));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  const n = last - first + 1;
  const step = w / n;
  for (let f = first; f <= last; f++) {
    const c = confidence[f];
    ctx.fillStyle = c === undefined ? "#444"
      : `rgb(${Math.round(230 * (1 - c))}, ${Math.round(60 + 170 * c)}, 70)`;
    ctx.fillRect((f - first) * step, h * 0.35, Math.max(1, step - (step > 3 ? 1 : 0)), h * 0.65);
  }
  // Shot boundaries: a bar at the left edge of the first frame of each new shot.
  ctx.fillStyle = "#2ee6ff";
  for (const f of boundaries) ctx.fillRect((f - first) * step - 1.5, 0, 3, h);
  ctx.fillStyle = "white";
  for (const f of keyframes) ctx.fillRect((f - first + 0.5) * step - 1, 0, 2, h);
  ctx.fillStyle = "#ffd21a";
  for (const f of suggested) {
    const x = (f - first + 0.5) * step;
    ctx.beginPath();
    ctx.moveTo(x - 5, 0);
    ctx.lineTo(x + 5, 0);
    ctx.lineTo(x, h * 0.5);
    ctx.fill();
  }
  if (current !== null) {
    ctx.strokeStyle = "white";
    ctx.lineWidth = 2;
    ctx.strokeRect((current - first) * step, 1, Math.max(2, step), h - 2);
  }
}

/** The frame under a pointer event on the timeline canvas. */
export function timelineFrame(event, canvas, first, last) {
  const rect = canvas.getBoundingClientRect();
  const t = clamp((event.clientX - rect.left) / Math.max(rect.width, 1), 0, 0.9999);
  return first + Math.floor(t * (last - first + 1));
}

function line(stroke, colour, dim) {
  const el = document.createElementNS(SVG, "polyline");
  el.setAttribute("points", stroke.points.map(([x, y]) => `${x},${y}`).join(" "));
  const kind = stroke.positive === false ? "negative" : "positive";
  el.setAttribute("class", `mark stroke ${kind}${dim ? " dim" : ""}`);
  el.dataset.kind = "stroke";
  el.style.stroke = colour;
  // The painted width in plate pixels (the SVG's units), not the non-scaling 2 px outline.
  el.style.strokeWidth = stroke.width;
  el.style.vectorEffect = "none";
  return el;
}

function dot(x, y, radius, colour, kind, dim) {
  // Told apart by shape, not only colour: positive points are discs in the object's colour
  // with a white plus; negative ones dark discs ringed in it with a white cross.
  const group = document.createElementNS(SVG, "g");
  group.setAttribute("class", `point ${kind}${dim ? " dim" : ""}`);
  const circle = document.createElementNS(SVG, "circle");
  circle.setAttribute("cx", x);
  circle.setAttribute("cy", y);
  circle.setAttribute("r", radius);
  circle.setAttribute("class", `mark ${kind}${dim ? " dim" : ""}`);
  circle.dataset.kind = kind;
  if (kind === "positive") circle.style.fill = colour;
  else circle.style.stroke = colour;
  const glyph = document.createElementNS(SVG, "path");
  const a = radius * 0.55;
  glyph.setAttribute("d", kind === "positive"
    ? `M${x - a},${y}H${x + a}M${x},${y - a}V${y + a}`
    : `M${x - a},${y - a}L${x + a},${y + a}M${x - a},${y + a}L${x + a},${y - a}`);
  glyph.setAttribute("class", `glyph ${kind === "positive" ? "plus" : "cross"}`);
  group.append(circle, glyph);
  return group;
}

/**
 * The prompt of `marks` (one object's prompts on a frame: {points, negative, box, strokes})
 * nearest to plate position `at`, within `reach` plate pixels: {kind, index} (kind: points,
 * negative, strokes or box), or null.
 */
export function nearestMark(marks, at, reach) {
  let best = null;
  let bestDist = reach;
  const consider = (kind, index, d) => {
    if (d <= bestDist) {
      best = { kind, index };
      bestDist = d;
    }
  };
  for (const kind of ["points", "negative"]) {
    (marks[kind] || []).forEach(([x, y], i) => consider(kind, i, Math.hypot(x - at[0], y - at[1])));
  }
  (marks.strokes || []).forEach((stroke, i) => {
    const pts = stroke.points;
    let d = Infinity;
    for (let k = 0; k < pts.length; k++) {
      d = Math.min(d, segmentDistance(at, pts[k], pts[Math.min(k + 1, pts.length - 1)]));
    }
    consider("strokes", i, Math.max(0, d - stroke.width / 2));
  });
  if (marks.box) {
    const [x0, y0, x1, y1] = marks.box;
    const corners = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
    let d = Infinity;
    for (let k = 0; k < 4; k++) d = Math.min(d, segmentDistance(at, corners[k], corners[(k + 1) % 4]));
    consider("box", 0, d);
  }
  return best;
}

function segmentDistance(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = dx * dx + dy * dy;
  const t = len > 0 ? clamp(((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len, 0, 1) : 0;
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

function rect(box, colour, kind, dim) {
  const [x0, y0, x1, y1] = box;
  const el = document.createElementNS(SVG, "rect");
  el.setAttribute("x", x0);
  el.setAttribute("y", y0);
  el.setAttribute("width", Math.max(0, x1 - x0));
  el.setAttribute("height", Math.max(0, y1 - y0));
  el.setAttribute("class", `mark ${kind}${dim ? " dim" : ""}`);
  el.dataset.kind = kind;
  el.style.stroke = colour;
  return el;
}

function clamp(v, lo, hi) {
  return Math.min(Math.max(v, lo), hi);
}

function round2(v) {
  return Math.round(v * 100) / 100;
}
