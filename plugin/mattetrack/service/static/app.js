// MatteTrack's browser UI: open a plate, click objects, watch the matte, propagate, export.
// Everything goes through the service's /v1 API (api.js); nothing here blocks: previews and the
// propagation's progress stream are fetched asynchronously.

import { Api, ApiError } from "./api.js";
import {
  boxOf, drawMarks, drawTimeline, objectColour, plateScale, timelineFrame, toPlate,
} from "./view.js";

const TOKEN_KEY = "mattetrack.token";
const DRAG_PX = 4; // CSS pixels a press must move to become a box instead of a click
// Shape format name -> file suffix, from the service's format table (GET /v1/formats).
const SHAPE_EXTENSIONS = {};

const $ = (id) => document.getElementById(id);

const state = {
  api: null,
  session: null, // GET /v1/sessions/{sid}: session, plate, frames, width, height, objects, job
  frame: null,
  selected: null, // object id
  prompts: new Map(), // "object:frame" -> {points, negative, box} sent from this page
  drag: null,
  preview: { seq: 0, controller: null, url: null, side: null, timer: 0 },
  job: null, // {id, controller} while a propagation runs
  report: null, // GET /v1/sessions/{sid}/report after the last propagation
};
const STROKE_STEP = 2; // plate pixels between the points of a painted stroke

// -- start ---------------------------------------------------------------------------------------
function start() {
  // A new link pasted into this tab only changes the fragment: start again from it.
  window.addEventListener("hashchange", () => {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.has("token") || params.has("plate")) location.reload();
  });
  const params = takeFragment();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    $("no-token").hidden = false;
    $("open-form").hidden = true;
    return;
  }
  state.api = new Api(token);
  $("plate").value = params.get("plate") || "";
  $("range").value = params.get("range") || "";
  $("output").value = params.get("output") || "";
  bindEvents();
  loadFormats();
  if ($("plate").value) {
    const frame = Number.parseInt(params.get("frame"), 10);
    openSession(Number.isFinite(frame) ? frame : null);
  } else {
    setStatus("Enter a plate path (a file or a frame pattern such as plate.####.exr) and Open.");
  }
}

/** The shapes export menu, filled from the service's format table. */
async function loadFormats() {
  try {
    const formats = await state.api.call("GET", "/v1/formats");
    const menu = $("shape-format");
    menu.replaceChildren();
    for (const f of formats.shapes) {
      SHAPE_EXTENSIONS[f.name] = f.suffix;
      const option = document.createElement("option");
      option.value = f.name;
      option.textContent = f.label;
      option.selected = f.name === formats.default_shapes;
      menu.append(option);
    }
    retargetShapeOutput();
  } catch (err) {
    report(err);
  }
}

/** The fragment's fields; the token moves to sessionStorage and leaves the address bar. */
function takeFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  params.delete("token");
  writeFragment(params);
  return params;
}

/** The address bar shows the shot (never the token), so a reload opens it again. */
function writeFragment(params) {
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}

function syncFragment() {
  const params = new URLSearchParams();
  const fields = { plate: $("plate").value, range: $("range").value, output: $("output").value };
  for (const [key, value] of Object.entries(fields)) if (value) params.set(key, value);
  if (state.frame !== null) params.set("frame", state.frame);
  writeFragment(params);
}

function bindEvents() {
  $("open-form").addEventListener("submit", (e) => {
    e.preventDefault();
    openSession(null);
  });
  const stage = $("stage");
  stage.addEventListener("pointerdown", onPointerDown);
  stage.addEventListener("pointermove", onPointerMove);
  stage.addEventListener("pointerup", onPointerUp);
  stage.addEventListener("pointercancel", () => endDrag());
  stage.addEventListener("contextmenu", (e) => e.preventDefault());
  $("slider").addEventListener("input", () => showFrame(Number($("slider").value)));
  $("frame-number").addEventListener("change", () => showFrame(Number($("frame-number").value)));
  $("timeline").addEventListener("click", (e) => {
    const s = state.session;
    if (s) showFrame(timelineFrame(e, $("timeline"), s.frames[0], s.frames[1]));
  });
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));
  document.addEventListener("keydown", onKey);
  $("object-form").addEventListener("submit", (e) => {
    e.preventDefault();
    addObject($("object-name").value.trim()).then(() => ($("object-name").value = ""), report);
  });
  $("remove-object").addEventListener("click", () => removeObject().catch(report));
  $("clear-frame").addEventListener("click", () => clearFrame().catch(report));
  $("propagate").addEventListener("click", () => propagate().catch(report));
  $("cancel").addEventListener("click", () => cancelJob().catch(report));
  $("shape-format").addEventListener("change", retargetShapeOutput);
  $("export").addEventListener("click", () => exportShapes().catch(report));
  $("output").addEventListener("change", syncFragment);
  $("output").addEventListener("input", retargetShapeOutput);
  $("shape-output").addEventListener("input", () => ($("shape-output").dataset.edited = "true"));
  new ResizeObserver(fitStage).observe($("viewer"));
  window.addEventListener("resize", () => {
    fitStage();
    drawTimelineNow();
  });
  window.addEventListener("pagehide", closeSession);
}

// -- status --------------------------------------------------------------------------------------
function setStatus(text, kind = "info") {
  const line = $("status");
  line.textContent = text;
  line.dataset.kind = kind;
}

function report(err) {
  if (err && err.name === "AbortError") return;
  if (err instanceof ApiError && err.status === 401) {
    // A stale token (the server was started with another one): the user needs a new link.
    sessionStorage.removeItem(TOKEN_KEY);
    $("no-token").hidden = false;
  }
  setStatus(`Error: ${err instanceof ApiError ? err.message : String(err)}`, "error");
}

// -- session -------------------------------------------------------------------------------------
async function openSession(frame) {
  const plate = $("plate").value.trim();
  const range = $("range").value.trim();
  if (!plate) return;
  if (state.job) {
    setStatus("A propagation is running: cancel it or let it finish before opening another plate.",
      "error");
    return;
  }
  setStatus(`Opening ${plate}…`);
  try {
    const body = range ? { plate, range } : { plate };
    const opened = await state.api.call("POST", "/v1/sessions", body);
    closeSession();
    state.session = await state.api.call("GET", `/v1/sessions/${opened.session}`);
  } catch (err) {
    report(err);
    return;
  }
  const s = state.session;
  state.prompts.clear();
  state.report = null;
  state.selected = null;
  state.frame = null;
  document.body.dataset.session = s.session;
  for (const el of [$("slider"), $("frame-number")]) {
    el.min = s.frames[0];
    el.max = s.frames[1];
  }
  if (!$("output").value) $("output").value = `${folderOf(s.plate)}/mattes/mattes.####.exr`;
  retargetShapeOutput();
  $("workspace").hidden = false;
  fitStage();
  renderObjects();
  setStatus(`${s.plate}: ${s.width}×${s.height}, frames ${s.frames[0]}–${s.frames[1]}. ` +
    "Click the object to select it.");
  showFrame(frame ?? s.frames[0]);
}

/** Close the current session on the server, unless a propagation is still writing it. */
function closeSession() {
  if (state.session && !state.job) {
    state.api.beacon("DELETE", `/v1/sessions/${state.session.session}`);
  }
}

async function refreshSession() {
  state.session = await state.api.call("GET", `/v1/sessions/${state.session.session}`);
  renderObjects();
}

// -- frames --------------------------------------------------------------------------------------
function showFrame(frame) {
  const s = state.session;
  if (!s || !Number.isFinite(frame)) return;
  state.frame = Math.min(Math.max(Math.round(frame), s.frames[0]), s.frames[1]);
  $("slider").value = state.frame;
  $("frame-number").value = state.frame;
  updateFrameInfo();
  redrawMarks();
  syncFragment();
  loadPreview();
}

function step(delta) {
  if (state.frame !== null) showFrame(state.frame + delta);
}

function onKey(e) {
  if (!state.session) return;
  const target = e.target;
  const typing = target instanceof HTMLInputElement && target.type !== "radio" &&
    target.type !== "checkbox" && target.type !== "range";
  // The slider moves itself on arrow keys; text fields keep their own.
  if (typing || target === $("slider") || target instanceof HTMLSelectElement) return;
  const s = state.session;
  const moves = {
    ArrowLeft: () => step(e.shiftKey ? -10 : -1),
    ArrowRight: () => step(e.shiftKey ? 10 : 1),
    Home: () => showFrame(s.frames[0]),
    End: () => showFrame(s.frames[1]),
    Escape: () => endDrag(),
    n: () => nextSuggestion(1),
    N: () => nextSuggestion(-1),
  };
  if (moves[e.key]) {
    e.preventDefault();
    moves[e.key]();
  }
}

/** The selected object's report entry (or the first object's), or null. */
function reportedObject() {
  const s = state.session;
  const objects = state.report?.objects ?? [];
  const name = s?.objects.find((o) => o.object === state.selected)?.name;
  return objects.find((o) => o.name === name) ?? objects[0] ?? null;
}

/** Jump to the next (direction 1) or previous (-1) suggested frame, wrapping around. */
function nextSuggestion(direction) {
  const entry = reportedObject();
  if (!entry || !entry.suggested.length) {
    setStatus("No frame to correct is suggested (propagate first, or the mattes look sure).");
    return;
  }
  const sorted = [...entry.suggested].sort((a, b) => a - b);
  const ahead = direction > 0 ? sorted.filter((f) => f > state.frame)
    : sorted.filter((f) => f < state.frame).reverse();
  const frame = ahead.length ? ahead[0] : (direction > 0 ? sorted[0] : sorted[sorted.length - 1]);
  showFrame(frame);
  const rank = entry.suggested.indexOf(frame) + 1;
  const c = entry.confidence[String(frame)];
  setStatus(`Frame ${frame}: suggestion ${rank} of ${entry.suggested.length} for ` +
    `${entry.name} (confidence ${c === undefined ? "?" : c.toFixed(2)}). Click to correct.`);
}

function drawTimelineNow() {
  const s = state.session;
  if (!s) return;
  const entry = reportedObject();
  const confidence = {};
  for (const [f, c] of Object.entries(entry?.confidence ?? {})) confidence[Number(f)] = c;
  const object = s.objects.find((o) => o.object === state.selected) ?? s.objects[0];
  drawTimeline($("timeline"), s.frames[0], s.frames[1], confidence, object?.keyframes ?? [],
    entry?.suggested ?? [], state.frame);
}

async function loadReport() {
  const s = state.session;
  if (!s) return;
  state.report = await state.api.call("GET", `/v1/sessions/${s.session}/report`);
  drawTimelineNow();
}

function updateFrameInfo() {
  const s = state.session;
  const keyed = s.objects.some((o) => o.keyframes.includes(state.frame));
  $("frame-info").textContent = `${s.frames[0]}–${s.frames[1]}${keyed ? " · keyframe" : ""}`;
  const list = $("keyframes");
  const frames = new Set(s.objects.flatMap((o) => o.keyframes));
  list.replaceChildren(...[...frames].sort((a, b) => a - b).map((f) => new Option("", f)));
  drawTimelineNow();
}

/** Size the stage to the plate's aspect ratio, as large as the viewer allows. */
function fitStage() {
  const s = state.session;
  if (!s) return;
  const viewer = $("viewer");
  const room = Math.max(160, window.innerHeight - viewer.getBoundingClientRect().top - 110);
  const scale = Math.min(viewer.clientWidth / s.width, room / s.height);
  $("stage").style.width = `${Math.floor(s.width * scale)}px`;
  $("stage").style.height = `${Math.floor(s.height * scale)}px`;
  redrawMarks();
  // A stage grown past the preview's size would show it soft: fetch a sharper one (debounced,
  // as a window being resized fires this many times).
  const wanted = previewSide() ?? Infinity;
  if (state.frame !== null && wanted > (state.preview.side ?? Infinity) * 1.1) {
    clearTimeout(state.preview.timer);
    state.preview.timer = setTimeout(loadPreview, 200);
  }
}

/** The preview of the current frame: the newest request wins, older ones are aborted. */
async function loadPreview() {
  const s = state.session;
  const preview = state.preview;
  preview.controller?.abort();
  const controller = new AbortController();
  preview.controller = controller;
  const seq = ++preview.seq;
  const frame = state.frame;
  $("stage").classList.add("loading");
  const query = new URLSearchParams({ frame });
  const maxSide = previewSide();
  if (maxSide) query.set("max_side", maxSide);
  preview.side = maxSide;
  try {
    const { blob, problem } = await state.api.preview(
      `/v1/sessions/${s.session}/preview?${query}`, controller.signal);
    if (seq !== preview.seq) return;
    if (problem) setStatus(problem, "error");  // e.g. only negative clicks: nothing selected
    const url = URL.createObjectURL(blob);
    const img = $("frame");
    img.src = url;
    await img.decode().catch(() => {});
    if (seq !== preview.seq) {
      URL.revokeObjectURL(url);
      return;
    }
    if (preview.url) URL.revokeObjectURL(preview.url);
    preview.url = url;
    img.dataset.frame = frame;
    img.dataset.seq = seq;
    $("stage").classList.remove("loading");
  } catch (err) {
    if (seq === preview.seq) report(err);
  }
}

/** Longest preview side worth fetching: the stage's size in device pixels (none: full size). */
function previewSide() {
  const s = state.session;
  const stage = $("stage");
  const side = Math.ceil(Math.max(stage.clientWidth, stage.clientHeight) * devicePixelRatio);
  return side >= Math.max(s.width, s.height) ? null : Math.max(16, side);
}

// -- clicks and boxes ----------------------------------------------------------------------------
function onPointerDown(e) {
  if (!state.session || e.button !== 0) return;
  e.preventDefault();
  $("stage").setPointerCapture(e.pointerId);
  const mode = document.querySelector("input[name=mode]:checked").value;
  const negative = e.altKey || e.shiftKey || mode === "negative";
  const start = plateAt(e);
  state.drag = {
    start,
    client: [e.clientX, e.clientY],
    negative,
    box: null,
    // Ctrl (Cmd on a Mac) paints a stroke instead of dragging a box.
    stroke: e.ctrlKey || e.metaKey
      ? { points: [start], positive: !negative, width: strokeWidth() } : null,
  };
}

function strokeWidth() {
  const w = Number($("stroke-width").value);
  return Number.isFinite(w) && w > 0 ? w : 8;
}

function onPointerMove(e) {
  const drag = state.drag;
  if (!drag) return;
  if (drag.stroke) {
    const at = plateAt(e);
    const last = drag.stroke.points[drag.stroke.points.length - 1];
    if (Math.hypot(at[0] - last[0], at[1] - last[1]) >= STROKE_STEP) {
      drag.stroke.points.push(at);
      redrawMarks();
    }
    return;
  }
  const moved = Math.hypot(e.clientX - drag.client[0], e.clientY - drag.client[1]);
  if (drag.box || moved >= DRAG_PX) {
    drag.box = boxOf(drag.start, plateAt(e));
    redrawMarks();
  }
}

function onPointerUp(e) {
  const drag = state.drag;
  if (!drag) return;
  onPointerMove(e);
  endDrag();
  let prompt;
  if (drag.stroke) {
    prompt = { strokes: [drag.stroke] };
  } else if (drag.box) {
    const [x0, y0, x1, y1] = drag.box;
    if (x1 - x0 < 1 || y1 - y0 < 1) return; // a sliver along the frame's edge
    prompt = { box: drag.box };
  } else {
    prompt = drag.negative ? { negative: [drag.start] } : { points: [drag.start] };
  }
  sendPrompt(prompt).catch(report);
}

function endDrag() {
  state.drag = null;
  redrawMarks();
}

function plateAt(e) {
  return toPlate(e, $("stage"), state.session.width, state.session.height);
}

/** Send one prompt for the selected object (made first when there is none) on this frame. */
async function sendPrompt(prompt) {
  if (state.selected === null) await addObject("");
  const s = state.session;
  const objectId = state.selected;
  const frame = state.frame;
  await state.api.call("POST", `/v1/sessions/${s.session}/objects/${objectId}/prompts`,
    { frame, ...prompt });
  const mine = promptsOf(objectId, frame);
  mine.points.push(...(prompt.points || []));
  mine.negative.push(...(prompt.negative || []));
  mine.strokes.push(...(prompt.strokes || []));
  if (prompt.box) mine.box = prompt.box;
  await refreshSession();
  updateFrameInfo();
  redrawMarks();
  const what = prompt.strokes ? (prompt.strokes[0].positive ? "stroke" : "negative stroke")
    : prompt.box ? "box" : prompt.negative ? "negative point" : "point";
  setStatus(`${what} on frame ${frame} for ${objectName(objectId)}`);
  if (frame === state.frame) await loadPreview();
}

function promptsOf(objectId, frame) {
  const key = `${objectId}:${frame}`;
  if (!state.prompts.has(key)) {
    state.prompts.set(key, { points: [], negative: [], box: null, strokes: [] });
  }
  return state.prompts.get(key);
}

function redrawMarks() {
  const s = state.session;
  if (!s) return;
  const marks = [];
  for (const o of s.objects) {
    const mine = state.prompts.get(`${o.object}:${state.frame}`);
    if (mine) marks.push({ object: o.object, ...mine });
  }
  const scale = plateScale($("stage"), s.width);
  const drag = state.drag?.stroke ?? state.drag?.box ?? null;
  drawMarks($("marks"), s.width, s.height, scale, marks, drag, state.selected);
}

async function clearFrame() {
  const s = state.session;
  if (!s || state.selected === null) return;
  await state.api.call("DELETE",
    `/v1/sessions/${s.session}/objects/${state.selected}/prompts?frame=${state.frame}`);
  state.prompts.delete(`${state.selected}:${state.frame}`);
  await refreshSession();
  updateFrameInfo();
  redrawMarks();
  setStatus(`Cleared ${objectName(state.selected)} on frame ${state.frame}`);
  await loadPreview();
}

// -- objects -------------------------------------------------------------------------------------
async function addObject(name) {
  const s = state.session;
  if (!s) return;
  const added = await state.api.call("POST", `/v1/sessions/${s.session}/objects`,
    name ? { name } : {});
  state.selected = added.object;
  await refreshSession();
  setStatus(`Added ${added.name}; click it on the frame.`);
}

async function removeObject() {
  const s = state.session;
  if (!s || state.selected === null) return;
  const gone = state.selected;
  await state.api.call("DELETE", `/v1/sessions/${s.session}/objects/${gone}`);
  for (const key of [...state.prompts.keys()]) {
    if (key.startsWith(`${gone}:`)) state.prompts.delete(key);
  }
  state.selected = null;
  await refreshSession();
  state.selected = state.session.objects.at(-1)?.object ?? null;
  renderObjects();
  updateFrameInfo();
  redrawMarks();
  await loadPreview();
}

function objectName(objectId) {
  return state.session.objects.find((o) => o.object === objectId)?.name ?? `object ${objectId}`;
}

function renderObjects() {
  const list = $("objects");
  const objects = state.session.objects;
  if (state.selected !== null && !objects.some((o) => o.object === state.selected)) {
    state.selected = null;
  }
  list.replaceChildren(...objects.map((o) => {
    const item = document.createElement("li");
    item.dataset.object = o.object;
    item.tabIndex = 0;
    item.setAttribute("aria-selected", String(o.object === state.selected));
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = objectColour(o.object);
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = o.name;
    const keys = document.createElement("span");
    keys.className = "keys";
    keys.textContent = o.keyframes.length ? `keys ${o.keyframes.join(", ")}` : "no prompts";
    item.append(swatch, label, keys);
    const select = () => {
      state.selected = o.object;
      renderObjects();
      redrawMarks();
      drawTimelineNow();
    };
    item.addEventListener("click", select);
    item.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") select();
    });
    return item;
  }));
  $("remove-object").disabled = state.selected === null;
}

// -- propagation ---------------------------------------------------------------------------------
async function propagate() {
  const s = state.session;
  if (!s || state.job) return;
  const output = $("output").value.trim();
  const body = { output, cryptomatte: $("cryptomatte").checked };
  const range = $("range").value.trim();
  if (range) body.range = range;
  const started = await state.api.call("POST", `/v1/sessions/${s.session}/propagate`, body);
  syncFragment();
  const progress = $("progress");
  progress.max = started.total;
  progress.value = 0;
  progress.dataset.state = "running";
  state.job = { id: started.job, controller: new AbortController() };
  $("propagate").disabled = true;
  $("cancel").disabled = false;
  setStatus(`Propagating ${started.total} frame(s) to ${output}…`);
  showProgress(0, started.total);
  followJob(state.job); // runs on; the page stays live
}

/** Follow the job's NDJSON events: progress per frame, then its end state. */
async function followJob(job) {
  let end = null;
  try {
    for await (const event of state.api.lines(`/v1/jobs/${job.id}/events`, job.controller.signal)) {
      if ("state" in event) {
        end = event;
      } else {
        showProgress(event.done, event.total);
        if (event.frame === state.frame) loadPreview();
      }
    }
    // The stream closed without an end state (the server stopped?): ask once.
    if (!end) end = await state.api.call("GET", `/v1/jobs/${job.id}`);
  } catch (err) {
    report(err);
  } finally {
    finishJob(job, end);
  }
}

function showProgress(done, total) {
  $("progress").value = done;
  $("progress-text").textContent = `${done} / ${total} (${Math.round((100 * done) / total)}%)`;
}

function finishJob(job, end) {
  if (state.job !== job) return;
  state.job = null;
  $("propagate").disabled = false;
  $("cancel").disabled = true;
  const progress = $("progress");
  progress.dataset.state = end ? end.state : "unknown";
  if (!end) return;
  showProgress(end.done, end.total);
  if (end.state === "done") {
    setStatus(`Done: ${end.done} frame(s) written to ${$("output").value}. ` +
      "Scrub to see the propagated mattes; N goes to the next frame to correct.");
    describeJob(job.id).catch(() => {});
    loadReport().catch(report);
  } else if (end.state === "cancelled") {
    setStatus(`Cancelled after ${end.done} of ${end.total} frame(s).`);
  } else {
    setStatus(`Propagation failed: ${end.error || end.state}`, "error");
  }
  loadPreview();
}

/** Say how much of the propagation was recomputed (an edit re-runs only its spans). */
async function describeJob(jid) {
  const status = await state.api.call("GET", `/v1/jobs/${jid}`);
  if (status.computed === undefined) return;
  const total = status.computed + status.reused;
  $("progress-text").textContent += ` · recomputed ${status.computed} of ${total}`;
}

async function cancelJob() {
  if (!state.job) return;
  $("cancel").disabled = true;
  await state.api.call("POST", `/v1/jobs/${state.job.id}/cancel`);
  setStatus("Cancelling after the frame in progress…");
}

// -- shapes --------------------------------------------------------------------------------------
/**
 * The shapes file: beside the mattes (following the output field) until the user types one,
 * always with the chosen format's extension.
 */
function retargetShapeOutput() {
  const field = $("shape-output");
  const ext = SHAPE_EXTENSIONS[$("shape-format").value];
  if (ext === undefined) return; // the format table is not loaded yet
  const output = $("output").value.trim();
  if (field.dataset.edited !== "true" && output) {
    field.value = `${folderOf(output)}/roto${ext}`;
  } else if (field.value) {
    const known = new Set(Object.values(SHAPE_EXTENSIONS));
    const dot = field.value.lastIndexOf(".");
    const base = dot >= 0 && known.has(field.value.slice(dot).toLowerCase())
      ? field.value.slice(0, dot) : field.value;
    field.value = base + ext;
  }
}

async function exportShapes() {
  const s = state.session;
  if (!s) return;
  if (!$("shape-output").value.trim()) retargetShapeOutput();
  const body = { output: $("shape-output").value.trim(), format: $("shape-format").value };
  setStatus("Fitting shapes…");
  const got = await state.api.call("POST", `/v1/sessions/${s.session}/shapes`, body);
  setStatus(`Exported ${got.shapes} shape(s) of ${got.objects} object(s), frames ` +
    `${got.frames[0]}–${got.frames[1]}, to ${got.output}`);
}

function folderOf(path) {
  const cut = path.lastIndexOf("/");
  return cut > 0 ? path.slice(0, cut) : path;
}

start();
