// MatteTrack's browser UI: open a plate (or mattes already made), click objects, watch the
// matte, propagate, review, export. Everything goes through the service's /v1 API (api.js);
// nothing here blocks: previews and the propagation's progress stream are fetched
// asynchronously. Sessions live on the server (saved there): a reload comes back to them.

import { Api, ApiError } from "./api.js";
import { History, promptsBody } from "./history.js";
import {
  boxOf, drawMarks, drawTimeline, nearestMark, objectColour, plateScale, timelineFrame, toPlate,
} from "./view.js";
import { Zoom } from "./zoom.js";

const TOKEN_KEY = "mattetrack.token";
const DRAG_PX = 4; // CSS pixels a press must move to become a box instead of a click
// Shape format name -> file suffix, from the service's format table (GET /v1/formats).
const SHAPE_EXTENSIONS = {};
const STROKE_STEP = 2; // plate pixels between the points of a painted stroke
// Previews kept for scrubbing and playback: at most this many, and this many bytes (a 480p
// preview is 1.2 MB, a 1080p one 6 MB, uncompressed).
const CACHE_FRAMES = 240;
const CACHE_BYTES = 384 * 2 ** 20;
const AHEAD = 8; // frames fetched ahead while playing
const PREFETCHES = 2; // prefetch requests at a time
const MARK_REACH = 8; // CSS pixels a right-click may be from a prompt to delete it

const $ = (id) => document.getElementById(id);

const state = {
  api: null,
  session: null, // GET /v1/sessions/{sid}: session, plate, frames, width, height, objects, ...
  frame: null,
  selected: null, // object id
  cleanRoles: {}, // object id -> its role in the clean plate: "remove" (default), "front", "keep"
  drag: null, // a click, box or stroke in progress
  pan: null, // {client: [x, y]} while panning
  spaceDown: false, // Space held: a drag pans; released without panning: play / pause
  spacePanned: false,
  preview: { seq: 0, controller: null, side: null, timer: 0 },
  job: null, // {id, controller} while a propagation runs
  shapes: null, // {id, controller} while a shapes export runs
  report: null, // GET /v1/sessions/{sid}/report after the last propagation
  history: new History(),
  version: 0, // bumped whenever what previews show may have changed (cache keys carry it)
  cache: new Map(), // preview key -> {url, bytes, problem, stale}, least recently used first
  cacheBytes: 0,
  fetching: new Map(), // preview key -> promise of a cache entry
  playing: null, // {stop} while playing
  zoom: null,
  pendingEdits: 0, // prompt edits sent and not answered yet
};

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
  $("mattes").value = params.get("mattes") || "";
  $("output").value = params.get("output") || "";
  state.zoom = new Zoom($("viewport"), $("stage"), onZoom);
  bindEvents();
  loadFormats();
  const frame = Number.parseInt(params.get("frame"), 10);
  const at = Number.isFinite(frame) ? frame : null;
  if (params.get("session")) {
    attach(params.get("session"), at);
  } else if ($("plate").value) {
    openSession(at);
  } else {
    loadSessions();
    setStatus("Enter a plate path (a file or a frame pattern such as plate.####.exr) and " +
      "Open, or reopen a session from the list.");
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

/** The address bar shows the shot and session (never the token), so a reload comes back. */
function writeFragment(params) {
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}

/** Debounced: browsers throttle address changes, and scrubbing makes many. */
function syncFragment() {
  clearTimeout(syncFragment.timer);
  syncFragment.timer = setTimeout(() => {
    const params = new URLSearchParams();
    const fields = { plate: $("plate").value, range: $("range").value,
      mattes: $("mattes").value, output: $("output").value,
      session: state.session?.session ?? "" };
    for (const [key, value] of Object.entries(fields)) if (value) params.set(key, value);
    if (state.frame !== null) params.set("frame", state.frame);
    writeFragment(params);
  }, 150);
}

function bindEvents() {
  $("open-form").addEventListener("submit", (e) => {
    e.preventDefault();
    openSession(null);
  });
  const viewport = $("viewport");
  viewport.addEventListener("pointerdown", onPointerDown);
  viewport.addEventListener("pointermove", onPointerMove);
  viewport.addEventListener("pointerup", onPointerUp);
  viewport.addEventListener("pointercancel", () => endDrag());
  viewport.addEventListener("contextmenu", onContextMenu);
  viewport.addEventListener("auxclick", (e) => e.preventDefault()); // middle-click pastes
  viewport.addEventListener("wheel", (e) => {
    if (!state.session) return;
    e.preventDefault();
    state.zoom.wheel(e);
  }, { passive: false });
  $("slider").addEventListener("input", () => showFrame(Number($("slider").value)));
  $("frame-number").addEventListener("change", () => showFrame(Number($("frame-number").value)));
  $("timeline").addEventListener("click", (e) => {
    const s = state.session;
    if (s) showFrame(timelineFrame(e, $("timeline"), s.frames[0], s.frames[1]));
  });
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));
  $("prev-key").addEventListener("click", () => jumpKeyframe(-1));
  $("next-key").addEventListener("click", () => jumpKeyframe(1));
  $("play").addEventListener("click", togglePlay);
  $("fit").addEventListener("click", () => state.zoom.fit());
  $("actual").addEventListener("click", () => state.zoom.actualSize());
  $("view-mode").addEventListener("change", viewChanged);
  $("background-colour").addEventListener("input", () => {
    $("background").value = $("background-colour").value;
    viewChanged();
  });
  $("background").addEventListener("change", () => {
    const text = $("background").value.trim();
    if (/^#[0-9a-fA-F]{6}$/.test(text)) $("background-colour").value = text.toLowerCase();
    viewChanged();
  });
  $("opacity").addEventListener("input", viewChanged);
  $("undo").addEventListener("click", () => undo().catch(report));
  $("redo").addEventListener("click", () => redo().catch(report));
  $("help-button").addEventListener("click", toggleHelp);
  $("help-close").addEventListener("click", toggleHelp);
  document.addEventListener("keydown", onKey);
  document.addEventListener("keyup", (e) => {
    if (e.key !== " " || !state.spaceDown) return;
    state.spaceDown = false;
    $("viewport").classList.remove("panning");
    if (!state.spacePanned && state.session) togglePlay(); // a tap plays; a drag panned
  });
  $("object-form").addEventListener("submit", (e) => {
    e.preventDefault();
    addObject($("object-name").value.trim()).then(() => ($("object-name").value = ""), report);
  });
  $("remove-object").addEventListener("click", () => removeObject().catch(report));
  $("clear-frame").addEventListener("click", () => clearFrame().catch(report));
  $("propagate").addEventListener("click", () => propagate().catch(report));
  $("farm").addEventListener("click", () => sendToFarm().catch(report));
  $("cancel").addEventListener("click", () => cancelJob().catch(report));
  $("shape-format").addEventListener("change", retargetShapeOutput);
  $("export").addEventListener("click", () => exportShapes().catch(report));
  $("remove").addEventListener("click", () => removeObjects().catch(report));
  $("remove-farm").addEventListener("click", () => sendRemovalToFarm().catch(report));
  $("clean-output").addEventListener("input", () => ($("clean-output").dataset.edited = "true"));
  $("output").addEventListener("change", syncFragment);
  $("output").addEventListener("input", retargetShapeOutput);
  $("shape-output").addEventListener("input", () => ($("shape-output").dataset.edited = "true"));
  new ResizeObserver(fitStage).observe($("viewer"));
  window.addEventListener("resize", () => {
    fitStage();
    drawTimelineNow();
  });
  // No session is closed when the page goes: the server keeps it (saved), and a reload or the
  // plate opened again comes back to it. Sessions are deleted from the list.
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
  setStatus(`Error: ${err instanceof Error ? err.message : String(err)}`, "error");
}

// -- sessions ------------------------------------------------------------------------------------
async function openSession(frame) {
  const plate = $("plate").value.trim();
  const range = $("range").value.trim();
  const mattes = $("mattes").value.trim();
  if (!plate) return;
  if (state.job) {
    setStatus("A propagation is running: cancel it or let it finish before opening another plate.",
      "error");
    return;
  }
  setStatus(`Opening ${plate}…`);
  let opened;
  try {
    // The session this plate was opened in before, if there is one: its work as it was left.
    const body = { plate, reattach: true };
    if (range) body.range = range;
    if (mattes) body.mattes = mattes;
    opened = await state.api.call("POST", "/v1/sessions", body);
  } catch (err) {
    report(err);
    return;
  }
  await attach(opened.session, frame, opened.reattached);
}

/** Work on session `sid` (after a reload, from the list, or just opened). */
async function attach(sid, frame, reattached = false) {
  if (state.job) {
    setStatus("A propagation is running: cancel it or let it finish first.", "error");
    return;
  }
  stopPlaying();
  let described;
  try {
    described = await state.api.call("GET", `/v1/sessions/${sid}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && $("plate").value) {
      openSession(frame); // deleted meanwhile: the plate in a session of its own
      return;
    }
    report(err);
    loadSessions();
    return;
  }
  state.session = described;
  const s = described;
  state.history.clear();
  state.report = null;
  state.selected = s.objects[0]?.object ?? null;
  state.frame = null;
  bumpVersion();
  document.body.dataset.session = s.session;
  if (!$("plate").value) $("plate").value = s.plate;
  for (const el of [$("slider"), $("frame-number")]) {
    el.min = s.frames[0];
    el.max = s.frames[1];
  }
  if (!$("output").value) $("output").value = `${folderOf(s.plate)}/mattes/mattes.####.exr`;
  retargetShapeOutput();
  retargetCleanOutput();
  $("workspace").hidden = false;
  fitStage();
  state.zoom.setPlate(s.width, s.height);
  renderObjects();
  updateHistoryButtons();
  const keys = s.objects.reduce((n, o) => n + o.keyframes.length, 0);
  const shown = s.mattes ? ` Showing ${s.mattes.imported ? "the mattes opened" : "its mattes"}` +
    ` (${s.mattes.frames.length} frames).` : "";
  setStatus(`${s.plate}: ${s.width}×${s.height}, frames ${s.frames[0]}–${s.frames[1]}. ` +
    (reattached || keys ? `Reopened: ${s.objects.length} object(s), ${keys} keyframe(s).`
      : "Click the object to select it.") + shown);
  showFrame(frame ?? s.frames[0]);
  loadSessions();
  if (s.mattes && !s.mattes.imported) loadReport().catch(() => {});
  findBoundaries(s).catch(() => {}); // the strip works without them
}

async function refreshSession() {
  state.session = await state.api.call("GET", `/v1/sessions/${state.session.session}`);
  renderObjects();
}

/** The sessions on the server (saved ones too): each reopened or deleted from the list. */
async function loadSessions() {
  let listed;
  try {
    listed = (await state.api.call("GET", "/v1/sessions")).sessions;
  } catch (err) {
    report(err);
    return;
  }
  $("sessions").replaceChildren(...listed.map((d) => {
    const item = document.createElement("li");
    item.dataset.session = d.session;
    const current = d.session === state.session?.session;
    item.setAttribute("aria-current", String(current));
    const what = document.createElement("span");
    what.className = "what";
    const name = d.plate.slice(d.plate.lastIndexOf("/") + 1);
    what.textContent = `${name} ${d.frames[0]}–${d.frames[1]} · ${d.objects.length} obj` +
      (d.mattes?.imported ? " · mattes" : "") + (d.loaded ? "" : " · saved");
    what.title = `${d.plate} (session ${d.session})`;
    const open = document.createElement("button");
    open.type = "button";
    open.textContent = "Open";
    open.disabled = current;
    open.addEventListener("click", () => {
      $("plate").value = d.plate;
      $("range").value = "";
      $("mattes").value = "";
      attach(d.session, null);
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.title = "Delete this session and its saved prompts (written mattes stay)";
    remove.addEventListener("click", () => deleteSession(d.session).catch(report));
    item.append(what, open, remove);
    return item;
  }));
}

async function deleteSession(sid) {
  if (state.job && state.session?.session === sid) {
    setStatus("A propagation is running in this session: cancel it first.", "error");
    return;
  }
  await state.api.call("DELETE", `/v1/sessions/${sid}`);
  if (state.session?.session === sid) {
    stopPlaying();
    state.session = null;
    $("workspace").hidden = true;
    delete document.body.dataset.session;
    setStatus("Session deleted. Open a plate.");
    syncFragment();
  }
  await loadSessions();
}

// -- frames --------------------------------------------------------------------------------------
function showFrame(frame) {
  const s = state.session;
  if (!s || !Number.isFinite(frame)) return;
  state.frame = Math.min(Math.max(Math.round(frame), s.frames[0]), s.frames[1]);
  frameChanged();
  const hit = cached(state.frame);
  if (hit) display(hit, state.frame);
  else loadPreview();
  prefetch(state.frame + 1, 2);
}

/** The scrubber, markers and address bar follow the current frame. */
function frameChanged() {
  $("slider").value = state.frame;
  $("frame-number").value = state.frame;
  updateFrameInfo();
  redrawMarks();
  if (!state.playing) syncFragment();
}

function step(delta) {
  if (state.frame !== null) showFrame(state.frame + delta);
}

function onKey(e) {
  if (!state.session) return;
  if ($("help").open) { // the dialog has the keys (Escape closes it)
    if (e.key === "?") toggleHelp();
    return;
  }
  const target = e.target;
  const typing = target instanceof HTMLInputElement && target.type !== "radio" &&
    target.type !== "checkbox" && target.type !== "range";
  // Text fields keep their own keys; the slider its arrows.
  if (typing || target instanceof HTMLSelectElement) return;
  if (target instanceof HTMLInputElement && target.type === "range" &&
      e.key.startsWith("Arrow")) return;
  const s = state.session;
  const ctrl = e.ctrlKey || e.metaKey;
  if (ctrl && (e.key === "z" || e.key === "Z")) {
    e.preventDefault();
    (e.shiftKey ? redo() : undo()).catch(report);
    return;
  }
  if (ctrl && e.key === "y") {
    e.preventDefault();
    redo().catch(report);
    return;
  }
  if (ctrl || e.altKey) return;
  if (e.key === " ") {
    if (target instanceof HTMLButtonElement) return; // a focused button presses itself
    e.preventDefault();
    if (!e.repeat) {
      state.spaceDown = true;
      state.spacePanned = false;
    }
    return;
  }
  const [vw, vh] = state.zoom.room();
  const moves = {
    ArrowLeft: () => step(e.shiftKey ? -10 : -1),
    ArrowRight: () => step(e.shiftKey ? 10 : 1),
    Home: () => showFrame(s.frames[0]),
    End: () => showFrame(s.frames[1]),
    Escape: () => (state.playing ? stopPlaying() : endDrag()),
    n: () => nextSuggestion(1),
    N: () => nextSuggestion(-1),
    "[": () => jumpKeyframe(-1),
    "]": () => jumpKeyframe(1),
    f: () => state.zoom.fit(),
    1: () => state.zoom.actualSize(),
    "+": () => state.zoom.zoomAt(vw / 2, vh / 2, state.zoom.scale * 1.5),
    "=": () => state.zoom.zoomAt(vw / 2, vh / 2, state.zoom.scale * 1.5),
    "-": () => state.zoom.zoomAt(vw / 2, vh / 2, state.zoom.scale / 1.5),
    v: () => cycleView(),
    "?": () => toggleHelp(),
  };
  if (moves[e.key]) {
    e.preventDefault();
    moves[e.key]();
  }
}

function toggleHelp() {
  const help = $("help");
  if (help.open) help.close();
  else help.showModal();
}

/** To the selected object's next (1) or previous (-1) keyframe (any object's without one). */
function jumpKeyframe(direction) {
  const s = state.session;
  if (!s) return;
  const chosen = s.objects.filter((o) => state.selected === null || o.object === state.selected);
  const keys = [...new Set(chosen.flatMap((o) => o.keyframes))].sort((a, b) => a - b);
  const ahead = direction > 0 ? keys.filter((f) => f > state.frame)
    : keys.filter((f) => f < state.frame).reverse();
  if (!ahead.length) {
    setStatus(keys.length ? `No keyframe ${direction > 0 ? "after" : "before"} frame ` +
      `${state.frame}.` : "No keyframe yet: click the object on a frame.");
    return;
  }
  showFrame(ahead[0]);
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
    entry?.suggested ?? [], state.frame, s.boundaries ?? []);
}

/** The session's shot boundaries, found by a cuts job once (the service keeps them): drawn on
 * the timeline strip when it ends. */
async function findBoundaries(s) {
  if (s.boundaries) return;
  const job = await state.api.call("POST", `/v1/sessions/${s.session}/cuts`, {});
  let end = null;
  for await (const event of state.api.lines(`/v1/jobs/${job.job}/events`)) {
    if ("state" in event) end = event;
  }
  if (end?.state === "done" && state.session?.session === s.session) {
    state.session.boundaries = end.cuts;
    drawTimelineNow();
  }
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
  const stale = s.objects.filter((o) => o.stale).map((o) => o.name);
  $("stale").hidden = !stale.length;
  $("stale").textContent = stale.length ? `Out of date (striped): ${stale.join(", ")}: ` +
    "the prompts changed since these mattes were made. Propagate to update them." : "";
}

/** Size the viewport to the room the window leaves; the zoom keeps or refits the view. */
function fitStage() {
  const s = state.session;
  if (!s) return;
  const viewer = $("viewer");
  const viewport = $("viewport");
  const room = Math.max(160, window.innerHeight - viewport.getBoundingClientRect().top - 110);
  const height = Math.min(room, Math.ceil((viewer.clientWidth * s.height) / s.width));
  viewport.style.height = `${Math.max(120, height)}px`;
  state.zoom.resized();
}

// -- view: zoom, look, previews, playback ----------------------------------------------------------
function onZoom() {
  $("zoom-level").textContent = `${state.zoom.percent()}%`;
  // Past 2 device pixels per plate pixel, show the pixels themselves (not a blur of them).
  $("stage").classList.toggle("pixels", state.zoom.scale * devicePixelRatio > 2);
  redrawMarks();
  // A stage grown past the preview's size would show it soft: fetch a sharper one (debounced:
  // a wheel turn zooms many times).
  const wanted = previewSide() ?? Infinity;
  if (state.frame !== null && wanted > (state.preview.side ?? Infinity) * 1.1) {
    clearTimeout(state.preview.timer);
    state.preview.timer = setTimeout(() => showFrame(state.frame), 200);
  }
}

function cycleView() {
  const menu = $("view-mode");
  menu.selectedIndex = (menu.selectedIndex + 1) % menu.options.length;
  viewChanged();
}

function viewChanged() {
  $("background-label").hidden = $("view-mode").value !== "composite";
  bumpVersion();
  if (state.frame !== null) showFrame(state.frame);
}

/** What previews show may have changed: the cached ones go. */
function bumpVersion() {
  state.version += 1;
  for (const entry of state.cache.values()) {
    if (entry.url !== $("frame").src) URL.revokeObjectURL(entry.url);
  }
  state.cache.clear();
  state.cacheBytes = 0;
  state.fetching.clear();
}

/** Longest preview side worth fetching: the stage's size in device pixels (none: full size). */
function previewSide() {
  const s = state.session;
  const side = Math.ceil(Math.max(s.width, s.height) * state.zoom.scale * devicePixelRatio);
  return side >= Math.max(s.width, s.height) ? null : Math.max(16, side);
}

// On this machine, previews up to BMP_PIXELS come uncompressed: made in 1 ms where a PNG
// takes 20 at 854x480, and the loopback carries them in a few ms. Larger ones come as PNG:
// Chromium draws a cached 1080p BMP again in 47 ms (median; p90 416), a PNG in 2 ms
// (docs/tuning.md). From elsewhere, always PNG.
const LOCAL = ["127.0.0.1", "localhost", "[::1]"].includes(location.hostname) ||
  location.hostname.endsWith(".localhost");
const BMP_PIXELS = 1_000_000;

function previewFormat() {
  const s = state.session;
  const side = previewSide();
  const scale = side ? side / Math.max(s.width, s.height) : 1;
  return LOCAL && s.width * s.height * scale * scale <= BMP_PIXELS ? "bmp" : "png";
}

function previewPath(frame, warm) {
  const query = new URLSearchParams({ frame, view: $("view-mode").value,
    opacity: $("opacity").value, format: previewFormat() });
  const maxSide = previewSide();
  if (maxSide) query.set("max_side", maxSide);
  if ($("view-mode").value === "composite") query.set("background", $("background").value.trim());
  if (!warm) query.set("warm", "0"); // played or fetched ahead: not about to be clicked on
  return `/v1/sessions/${state.session.session}/preview?${query}`;
}

function cacheKey(frame) {
  return `${state.session.session}|${frame}|${previewSide() ?? "full"}|${state.version}`;
}

function cached(frame) {
  const key = cacheKey(frame);
  const entry = state.cache.get(key);
  if (entry) { // most recently used last
    state.cache.delete(key);
    state.cache.set(key, entry);
  }
  return entry;
}

function remember(key, entry) {
  state.cache.set(key, entry);
  state.cacheBytes += entry.bytes;
  while (state.cache.size > CACHE_FRAMES ||
         (state.cacheBytes > CACHE_BYTES && state.cache.size > 1)) {
    const [oldest, gone] = state.cache.entries().next().value;
    state.cache.delete(oldest);
    state.cacheBytes -= gone.bytes;
    if (gone.url !== $("frame").src) URL.revokeObjectURL(gone.url);
  }
}

/** Forget the cached previews of one frame (a propagation rewrote its mattes). */
function forgetFrame(frame) {
  const prefix = `${state.session.session}|${frame}|`;
  for (const [key, entry] of [...state.cache]) {
    if (key.startsWith(prefix)) {
      state.cache.delete(key);
      state.cacheBytes -= entry.bytes;
      if (entry.url !== $("frame").src) URL.revokeObjectURL(entry.url);
    }
  }
  for (const key of [...state.fetching.keys()]) if (key.startsWith(prefix)) state.fetching.delete(key);
}

/** A frame's preview as a cache entry, fetched once however many ask for it. */
function fetchPreview(frame) {
  const hit = cached(frame);
  if (hit) return Promise.resolve(hit);
  const key = cacheKey(frame);
  let pending = state.fetching.get(key);
  if (!pending) {
    const version = state.version;
    pending = state.api.preview(previewPath(frame, false)).then(({ blob, problem, stale }) => {
      const entry = { url: URL.createObjectURL(blob), bytes: blob.size, problem, stale };
      if (version === state.version) remember(key, entry);
      return entry;
    }).finally(() => {
      if (state.fetching.get(key) === pending) state.fetching.delete(key);
    });
    state.fetching.set(key, pending);
  }
  return pending;
}

/** Fetch up to `count` frames from `first` on in the background, a few requests at a time. */
function prefetch(first, count) {
  const s = state.session;
  if (!s) return;
  for (let f = first; f < first + count && f <= s.frames[1]; f++) {
    if (state.fetching.size >= PREFETCHES) return;
    if (!cached(f) && !state.fetching.has(cacheKey(f))) fetchPreview(f).catch(() => {});
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
  const key = cacheKey(frame);
  const version = state.version;
  $("stage").classList.add("loading");
  preview.side = previewSide();
  try {
    const { blob, problem, stale } = await state.api.preview(previewPath(frame, true),
      controller.signal);
    if (seq !== preview.seq || state.session?.session !== s.session) return;
    const entry = { url: URL.createObjectURL(blob), bytes: blob.size, problem, stale };
    if (version === state.version) remember(key, entry);
    await display(entry, frame, seq);
  } catch (err) {
    if (seq === preview.seq) {
      report(err);
      if (err.name !== "AbortError") $("stage").classList.remove("loading");
    }
  }
}

/** Show a preview entry as frame `frame` (`seq`: a loadPreview's number, else a new one). */
async function display(entry, frame, seq = null) {
  const preview = state.preview;
  if (seq === null) {
    preview.controller?.abort(); // a slower request for another frame must not win
    seq = ++preview.seq;
  }
  if (entry.problem) setStatus(entry.problem, "error"); // e.g. only negative clicks
  const img = $("frame");
  const before = img.src;
  img.src = entry.url;
  // The image replaced goes, unless the cache still holds it.
  if (before.startsWith("blob:") && before !== entry.url &&
      ![...state.cache.values()].some((e) => e.url === before)) URL.revokeObjectURL(before);
  await img.decode().catch(() => {});
  if (seq !== preview.seq) return;
  preview.side = previewSide();
  img.dataset.frame = frame;
  img.dataset.seq = seq;
  img.dataset.stale = entry.stale ?? "";
  // Dimmed while an edit is on its way: the matte shown is not its result yet.
  if (!state.pendingEdits) $("stage").classList.remove("loading");
}

function togglePlay() {
  if (state.playing) stopPlaying();
  else play().catch(report);
}

function stopPlaying() {
  if (!state.playing) return;
  state.playing.stop = true;
  state.playing = null;
  $("play").textContent = "▶ Play";
  syncFragment();
}

/** Play from the current frame to the last at the shot's rate, the mattes on every frame in
 *  order (a frame not fetched yet holds the playback back rather than being skipped). */
async function play() {
  const s = state.session;
  if (!s) return;
  const playing = { stop: false };
  state.playing = playing;
  $("play").textContent = "❚❚ Pause";
  const interval = 1000 / (s.fps || 24);
  let frame = state.frame >= s.frames[1] ? s.frames[0] : state.frame + 1;
  let due = performance.now() + interval;
  while (!playing.stop && frame <= s.frames[1]) {
    prefetch(frame + 1, AHEAD);
    const entry = await fetchPreview(frame);
    if (playing.stop || state.session?.session !== s.session) return;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    if (playing.stop) return;
    state.frame = frame;
    frameChanged();
    await display(entry, frame);
    due = Math.max(due + interval, performance.now());
    frame += 1;
  }
  if (state.playing === playing) stopPlaying();
}

// -- clicks, boxes, strokes, panning -------------------------------------------------------------
function onPointerDown(e) {
  if (!state.session) return;
  // Pan: the middle button, or any drag while Space is held.
  if (e.button === 1 || (e.button === 0 && state.spaceDown)) {
    e.preventDefault();
    $("viewport").setPointerCapture(e.pointerId);
    $("viewport").classList.add("panning");
    state.pan = { client: [e.clientX, e.clientY] };
    state.spacePanned = state.spaceDown;
    return;
  }
  if (e.button !== 0 || !$("stage").contains(e.target)) return;
  e.preventDefault();
  stopPlaying();
  $("viewport").setPointerCapture(e.pointerId);
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
  if (state.pan) {
    state.zoom.panBy(e.clientX - state.pan.client[0], e.clientY - state.pan.client[1]);
    state.pan.client = [e.clientX, e.clientY];
    return;
  }
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
  if (state.pan) {
    state.pan = null;
    if (!state.spaceDown) $("viewport").classList.remove("panning");
    return;
  }
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

/** Right-click on a prompt of the selected object on this frame: delete that prompt alone. */
function onContextMenu(e) {
  e.preventDefault();
  const s = state.session;
  if (!s || state.selected === null || !$("stage").contains(e.target)) return;
  const current = framePrompts(state.selected, state.frame);
  if (!current) return;
  const body = promptsBody(current);
  const hit = nearestMark(body, plateAt(e), MARK_REACH * plateScale($("stage"), s.width));
  if (!hit) {
    setStatus("Right-click on a point, stroke or box of the selected object to delete it.");
    return;
  }
  if (hit.kind === "box") body.box = null;
  else body[hit.kind].splice(hit.index, 1);
  const what = { points: "point", negative: "negative point", strokes: "stroke", box: "box" };
  edit(state.selected, state.frame, body, `Deleted a ${what[hit.kind]}`).catch(report);
}

/** The prompts of an object on a frame as the session describes them, or undefined. */
function framePrompts(objectId, frame) {
  const o = state.session.objects.find((x) => x.object === objectId);
  return o?.prompts.find((p) => p.frame === frame);
}

/** Run a prompt edit with the frame dimmed until its preview is shown. */
async function editing(work) {
  state.pendingEdits += 1;
  $("stage").classList.add("loading");
  try {
    return await work();
  } finally {
    state.pendingEdits -= 1;
    if (!state.pendingEdits && $("frame").dataset.seq === String(state.preview.seq)) {
      $("stage").classList.remove("loading");
    }
  }
}

/** Send one prompt for the selected object (made first when there is none) on this frame. */
function sendPrompt(prompt) {
  return editing(() => sendPromptNow(prompt));
}

async function sendPromptNow(prompt) {
  if (state.selected === null) await addObject("");
  const s = state.session;
  const objectId = state.selected;
  const frame = state.frame;
  const before = promptsBody(framePrompts(objectId, frame));
  await state.api.call("POST", `/v1/sessions/${s.session}/objects/${objectId}/prompts`,
    { frame, ...prompt });
  await refreshSession();
  state.history.push({ object: objectId, frame, before,
    after: promptsBody(framePrompts(objectId, frame)) });
  const what = prompt.strokes ? (prompt.strokes[0].positive ? "stroke" : "negative stroke")
    : prompt.box ? "box" : prompt.negative ? "negative point" : "point";
  await edited(frame, `${what} on frame ${frame} for ${objectName(objectId)}`);
}

/** Replace an object's prompts on a frame (a prompt deleted), as one undoable edit. */
function edit(objectId, frame, body, message) {
  return editing(() => editNow(objectId, frame, body, message));
}

async function editNow(objectId, frame, body, message) {
  const before = promptsBody(framePrompts(objectId, frame));
  await putPrompts(objectId, frame, body);
  state.history.push({ object: objectId, frame, before, after: body });
  await edited(frame, `${message} on frame ${frame}`);
}

async function putPrompts(objectId, frame, body) {
  const s = state.session;
  await state.api.call("PUT", `/v1/sessions/${s.session}/objects/${objectId}/prompts?` +
    `frame=${frame}`, body);
  await refreshSession();
}

/** After any prompt edit: previews cached before it go; the frame edited is shown again. */
async function edited(frame, message) {
  bumpVersion();
  updateHistoryButtons();
  updateFrameInfo();
  redrawMarks();
  setStatus(message);
  if (frame === state.frame) await loadPreview();
}

async function undo() {
  const change = state.history.undo();
  if (!change) {
    setStatus("Nothing to undo.");
    return;
  }
  await replay(change, change.before, "Undid", true);
}

async function redo() {
  const change = state.history.redo();
  if (!change) {
    setStatus("Nothing to redo.");
    return;
  }
  await replay(change, change.after, "Redid", false);
}

function replay(change, body, verb, undone) {
  return editing(() => replayNow(change, body, verb, undone));
}

async function replayNow(change, body, verb, undone) {
  try {
    await putPrompts(change.object, change.frame, body);
  } catch (err) {
    state.history.restore(change, undone);
    throw err;
  }
  state.selected = change.object;
  renderObjects();
  if (state.frame !== change.frame) {
    state.frame = change.frame; // the edit's frame, where its matte changes
    frameChanged();
  }
  await edited(change.frame, `${verb} an edit of ${objectName(change.object)} on frame ` +
    `${change.frame}`);
}

function updateHistoryButtons() {
  $("undo").disabled = !state.history.undos.length;
  $("redo").disabled = !state.history.redos.length;
}

function redrawMarks() {
  const s = state.session;
  if (!s) return;
  const marks = [];
  for (const o of s.objects) {
    const mine = framePrompts(o.object, state.frame);
    if (mine) marks.push({ object: o.object, ...mine });
  }
  const scale = plateScale($("stage"), s.width);
  const drag = state.drag?.stroke ?? state.drag?.box ?? null;
  drawMarks($("marks"), s.width, s.height, scale, marks, drag, state.selected);
}

async function clearFrame() {
  const s = state.session;
  if (!s || state.selected === null) return;
  const current = framePrompts(state.selected, state.frame);
  if (!current) return;
  await edit(state.selected, state.frame, promptsBody(null),
    `Cleared ${objectName(state.selected)}`);
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
  // Its edits cannot be undone any more (the object is gone).
  state.history.undos = state.history.undos.filter((c) => c.object !== gone);
  state.history.redos = state.history.redos.filter((c) => c.object !== gone);
  state.selected = null;
  await refreshSession();
  state.selected = state.session.objects.at(-1)?.object ?? null;
  renderObjects();
  await edited(state.frame, `Removed ${gone}`);
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
    if (o.stale) {
      const stale = document.createElement("span");
      stale.className = "stale";
      stale.textContent = "out of date";
      item.append(stale);
    }
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
  renderCleanRoles();
}

// What each object is in the clean plate (`mattetrack remove --object ... --foreground ...`).
const CLEAN_ROLES = [["remove", "Removed"], ["front", "In front"], ["keep", "As is"]];

function renderCleanRoles() {
  const objects = state.session.objects;
  $("clean-roles").replaceChildren(...objects.map((o) => {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = o.name;
    const role = document.createElement("select");
    role.dataset.object = o.object;
    role.setAttribute("aria-label", `${o.name} in the clean plate`);
    for (const [value, text] of CLEAN_ROLES) role.add(new Option(text, value));
    role.value = state.cleanRoles[o.object] || "remove";
    role.addEventListener("change", () => { state.cleanRoles[o.object] = role.value; });
    item.append(label, role);
    return item;
  }));
}

/** The removal's objects and foreground (names) from the roles chosen; an error when none is
 * removed. */
function cleanRequest(body) {
  const named = (role) => state.session.objects
    .filter((o) => (state.cleanRoles[o.object] || "remove") === role).map((o) => o.name);
  const objects = named("remove");
  if (!objects.length) throw new Error("Clean plate: set at least one object to Removed");
  const foreground = named("front");
  return { ...body, objects, ...(foreground.length ? { foreground } : {}) };
}

// -- propagation ---------------------------------------------------------------------------------
// Send to farm: the session's prompts as a job bundle writing the Output above, split at the
// keyframes; the farm (or `openjd run`) writes what Propagate would.
async function sendToFarm() {
  const s = state.session;
  if (!s) return;
  const body = {
    output: $("output").value.trim(),
    job: $("farm-job").value.trim(),
    cryptomatte: $("cryptomatte").checked,
    frames_per_task: Math.max(0, parseInt($("farm-chunk").value, 10) || 0),
    submit: $("farm-submit").checked,
  };
  const range = $("range").value.trim();
  if (range) body.range = range;
  const got = await state.api.call("POST", `/v1/sessions/${s.session}/farm`, body);
  $("farm").dataset.jobDir = got.job_dir;
  showFarmReply("Farm job", got);
}

/** The status line for a farm bundle written by the service (`got`: its reply). */
function showFarmReply(head, got) {
  let text = `${head}: ${got.tasks} task(s) over ${got.frames} frame(s) in ${got.job_dir}. `;
  if (got.submitted) text += "Submitted to Deadline Cloud.";
  else if (got.submit_error) text += `Not submitted: ${got.submit_error}`;
  else text += `Run it with: ${got.run}`;
  if (got.warnings.length) text += ` (${got.warnings.join("; ")})`;
  setStatus(text, got.submit_error ? "error" : "info");
}

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
  bumpVersion(); // the mattes shown change as the job writes them
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
        forgetFrame(event.frame);
        if (event.frame === state.frame && !state.playing) loadPreview();
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
  bumpVersion();
  refreshSession().then(() => {
    updateFrameInfo(); // which objects are still out of date
    loadSessions();
  }).catch(report);
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
  const job = state.job || state.shapes;
  if (!job) return;
  $("cancel").disabled = true;
  await state.api.call("POST", `/v1/jobs/${job.id}/cancel`);
  setStatus(state.job ? "Cancelling after the frame in progress…" : "Cancelling the shapes…");
}

// -- shapes --------------------------------------------------------------------------------------
/**
 * The shapes file: beside the mattes (following the output field) until the user types one,
 * always with the chosen format's extension.
 */
/** Follow an export job (shapes, clean plate) to its end status: `progress(event)` for each
 * step; its `button` is enabled again and Cancel follows the propagation afterwards. */
async function followExport(job, button, progress) {
  let end = null;
  try {
    for await (const event of state.api.lines(`/v1/jobs/${job.id}/events`, job.controller.signal)) {
      if ("state" in event) end = event;
      else progress(event);
    }
    if (!end) end = await state.api.call("GET", `/v1/jobs/${job.id}`);
  } finally {
    state.shapes = null;
    button.disabled = false;
    $("cancel").disabled = !state.job;
  }
  return end;
}

/** The clean plate's default files: the plate's own name in a `clean` folder beside it (a
 * movie plate: a .mov). */
function retargetCleanOutput() {
  const field = $("clean-output");
  const s = state.session;
  if (!s || field.dataset.edited === "true") return;
  const name = s.plate.slice(s.plate.lastIndexOf("/") + 1);
  const movie = /\.(mov|mp4|mxf|avi|mkv|m4v)$/i.test(name);
  field.value = `${folderOf(s.plate)}/clean/${movie ? name.replace(/\.[^.]+$/, ".mov") : name}`;
}

/** The removal as a farm job bundle (`mattetrack remove --job`) in the Send to farm folder. */
async function sendRemovalToFarm() {
  const s = state.session;
  if (!s) return;
  if (!$("clean-output").value.trim()) retargetCleanOutput();
  const body = cleanRequest({
    output: $("clean-output").value.trim(),
    job: $("farm-job").value.trim(),
    submit: $("farm-submit").checked,
  });
  const chunk = parseInt($("farm-chunk").value, 10) || 0;
  if (chunk > 0) body.frames_per_task = chunk; // else the service's default
  const got = await state.api.call("POST", `/v1/sessions/${s.session}/farm-remove`, body);
  showFarmReply("Clean plate farm job", got);
}

/** `mattetrack remove` on the session's propagated mattes, followed to its end. */
async function removeObjects() {
  const s = state.session;
  if (!s || state.shapes) return;
  if (!$("clean-output").value.trim()) retargetCleanOutput();
  const body = cleanRequest({ output: $("clean-output").value.trim() });
  const started = await state.api.call("POST", `/v1/sessions/${s.session}/remove`, body);
  const job = { id: started.job, controller: new AbortController() };
  state.shapes = job; // one export job at a time: Cancel stops it
  $("remove").disabled = true;
  $("cancel").disabled = false;
  setStatus(`Removing the objects from ${started.total} frame(s)…`);
  const end = await followExport(job, $("remove"), (event) =>
    setStatus(`Clean plate: frame ${event.frame} (${event.done} / ${event.total})…`));
  if (end.state === "done") {
    const paint = end.paint && end.paint.length
      ? `; most invented (paint first): frame(s) ${end.paint.slice(0, 5).join(", ")}` : "";
    setStatus(`Clean plate: ${end.done} frame(s) to ${body.output}${paint}`);
  } else if (end.state === "cancelled") {
    setStatus(`Clean plate cancelled after ${end.done} frame(s) (each written whole).`);
  } else {
    setStatus(`Clean plate failed: ${end.error || end.state}`, "error");
  }
}

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

/** Start the shapes job and follow its events: frames outlined, then shapes fitted. */
async function exportShapes() {
  const s = state.session;
  if (!s || state.shapes) return;
  if (!$("shape-output").value.trim()) retargetShapeOutput();
  const body = { output: $("shape-output").value.trim(), format: $("shape-format").value };
  const started = await state.api.call("POST", `/v1/sessions/${s.session}/shapes`, body);
  const job = { id: started.job, controller: new AbortController() };
  state.shapes = job;
  $("export").disabled = true;
  $("cancel").disabled = false;
  setStatus(`Fitting shapes to ${started.total} frame(s)…`);
  const end = await followExport(job, $("export"), (event) => {
    const what = event.stage === "outlines" ? "outlining frames" : "fitting shapes";
    setStatus(`Shapes: ${what} ${event.done} / ${event.total}…`);
  });
  if (end.state === "done") {
    setStatus(`Exported ${end.shapes} shape(s) of ${end.objects} object(s), frames ` +
      `${end.frames[0]}–${end.frames[1]}, to ${body.output}`);
  } else if (end.state === "cancelled") {
    setStatus("Shapes export cancelled; nothing written.");
  } else {
    setStatus(`Shapes export failed: ${end.error || end.state}`, "error");
  }
}

function folderOf(path) {
  const cut = path.lastIndexOf("/");
  return cut > 0 ? path.slice(0, cut) : path;
}

start();
