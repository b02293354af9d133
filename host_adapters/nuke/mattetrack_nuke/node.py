"""The MatteTrack node: a NoOp on the plate's Read with a MatteTrack tab. Every `nuke` call of
the node is here; the logic is in `model` (prompts, coordinates, patterns) and `sync` (the
service session). Standard library, Python 3.9+.

Threads: knobs and nodes are touched on Nuke's main thread only. Button scripts run there;
work that can take long (propagation, fitting shapes) runs on a `threading.Thread` that talks
to the service and reports back through `nuke.executeInMainThread`, so a button returns at
once. Adding a point syncs at once on the main thread: a few small local HTTP calls.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
import traceback

from mattetrack_nuke import model, roto, sync

# Knob names; `mt_` keeps them apart from any knob a NoOp has or gains.
TAB, URL, OBJECT, NEW_OBJECT = "mt_tab", "mt_url", "mt_object", "mt_new_object"
POINT, OUTPUT, STATUS = "mt_point", "mt_output", "mt_status"
SUGGESTED = "mt_suggested"  # frames to correct, from the last propagation's report
STROKES_FROM = "mt_strokes_from"  # the RotoPaint/Roto node whose paint strokes become prompts
ROTO_CLASSES = ("RotoPaint", "Roto")
PROMPTS, SERVICE, NODES = "mt_prompts", "mt_service", "mt_nodes"
# Objects kept in front of the background in the clean plate (`remove --foreground`).
CLEAN_FRONT = "mt_clean_front"
BUTTONS = [  # (knob, label, action); one row each, in this order on the tab
    ("mt_add_object", "Add object", "add_object"),
    ("mt_remove_object", "Remove object", "remove_object"),
    ("mt_add_positive", "Add +", "add_positive"),
    ("mt_add_negative", "Add \u2212", "add_negative"),
    ("mt_strokes_positive", "Strokes +", "strokes_positive"),
    ("mt_strokes_negative", "Strokes \u2212", "strokes_negative"),
    ("mt_clear_frame", "Clear frame", "clear_frame"),
    ("mt_sync", "Sync", "sync"),
    ("mt_propagate", "Propagate", "propagate"),
    ("mt_send_to_farm", "Send to farm", "send_to_farm"),
    ("mt_import_mattes", "Import mattes", "import_mattes"),
    ("mt_import_shapes", "Import shapes", "import_shapes"),
    ("mt_clean_plate", "Clean plate", "clean_plate"),
    ("mt_clean_plate_farm", "Clean plate on farm", "clean_plate_on_farm"),
    ("mt_next_suggestion", "Next to correct", "next_suggestion"),
]
COMMAND = "import mattetrack_nuke.node\nmattetrack_nuke.node.on_button(nuke.thisNode(), %r)"
POLL_S = 0.1  # how often the propagation thread reads the job's progress
CLIENT_TIMEOUT = 15.0  # seconds a main-thread call to the (local) service may take at most

_running = {}  # node name -> its propagation thread (one at a time per node)


def default_url():
    return os.environ.get("MATTETRACK_URL") or "http://127.0.0.1:8765"


def make_client(url, timeout=CLIENT_TIMEOUT):
    """A service client (token from the MatteTrack config folder, as the service wrote it)."""
    import mattetrack_client

    return mattetrack_client.Client(url or None, timeout=timeout)


# -- creating the node ------------------------------------------------------------------------
def _unique(nuke, base):
    name, n = base, 1
    while nuke.toNode(name) is not None:
        n += 1
        name = f"{base}{n}"
    return name


def add_knobs(nuke, node, output=""):
    """The MatteTrack tab on `node`."""
    node.addKnob(nuke.Tab_Knob(TAB, "MatteTrack"))
    node.addKnob(nuke.String_Knob(URL, "service URL", default_url()))
    node.addKnob(nuke.Enumeration_Knob(OBJECT, "object", []))
    node.addKnob(nuke.String_Knob(NEW_OBJECT, "new object", ""))
    point = nuke.XY_Knob(POINT, "point")  # drawn as a draggable handle in the Viewer
    buttons = {}
    for knob, label, action in BUTTONS:
        buttons[action] = nuke.PyScript_Knob(knob, label, COMMAND % action)
    for action in ("add_object", "remove_object"):
        node.addKnob(buttons[action])
    node.addKnob(point)
    for action in ("add_positive", "add_negative"):
        node.addKnob(buttons[action])
    # Painted strokes: drawn with a RotoPaint's brush on the plate, taken by the buttons.
    node.addKnob(nuke.String_Knob(STROKES_FROM, "strokes from", ""))
    for action in ("strokes_positive", "strokes_negative", "clear_frame", "sync"):
        node.addKnob(buttons[action])
    node.addKnob(nuke.File_Knob(OUTPUT, "output"))
    node[OUTPUT].setValue(output)
    for action in ("propagate", "send_to_farm", "import_mattes", "import_shapes"):
        node.addKnob(buttons[action])
    front = nuke.String_Knob(CLEAN_FRONT, "in front", "")
    front.setTooltip("Clean plate: objects kept in front of the background (comma-separated "
                     "names): not removed, and where another frame shows one, that frame is "
                     "not taken as the background behind the removed objects")
    node.addKnob(front)
    for action in ("clean_plate", "clean_plate_on_farm"):
        node.addKnob(buttons[action])
    node.addKnob(nuke.Text_Knob(STATUS, "status", ""))
    # Where the mattes are weakest (best first), and a button that goes there.
    node.addKnob(nuke.Text_Knob(SUGGESTED, "to correct", ""))
    node.addKnob(buttons["next_suggestion"])
    # Saved with the script, never shown: the prompts (so a reopened script rebuilds its
    # session), the service session it opened and the nodes it made.
    for name, kind in ((PROMPTS, nuke.Multiline_Eval_String_Knob), (SERVICE, nuke.String_Knob),
                       (NODES, nuke.String_Knob)):
        knob = kind(name, name)
        knob.setFlag(nuke.INVISIBLE)
        node.addKnob(knob)
    node[PROMPTS].setValue(model.Prompts().to_json())


def create(nuke, read=None):
    """Menu command: a MatteTrack node on `read` (default: the selected Read)."""
    if read is None:
        reads = nuke.selectedNodes("Read")
        read = reads[0] if reads else None
    node = nuke.nodes.NoOp(name=_unique(nuke, "MatteTrack"))
    output = ""
    if read is not None:
        node.setInput(0, read)
        node.setXYpos(read.xpos(), read.ypos() + 120)
        try:
            output = model.default_output(model.service_pattern(nuke.filename(read)))
        except ValueError:
            output = ""
    add_knobs(nuke, node, output)
    if read is not None:
        fmt = read.format()  # the handle starts mid-frame, where the Viewer shows it
        node[POINT].setValue([fmt.width() / 2.0, fmt.height() / 2.0])
    set_status(node, "pick an object, place the point in the Viewer, press Add +"
               if read is not None else "connect the plate's Read to the input")
    node.showControlPanel()  # the point's handle is drawn in the Viewer while it is open
    return node


# -- state on the node ------------------------------------------------------------------------
def set_status(node, text):
    node[STATUS].setValue(text)


def prompts_of(node):
    return model.Prompts.from_json(node[PROMPTS].value())


def _json_knob(node, name):
    try:
        value = json.loads(node[name].value() or "null")
    except ValueError:
        return None  # damaged: start again (a new session, new nodes)
    return value if isinstance(value, dict) else None


def save_prompts(node, prompts, current=None):
    node[PROMPTS].setValue(prompts.to_json())
    menu = node[OBJECT]
    menu.setValues(prompts.names())
    if current is not None:
        menu.setValue(current)


def _menu_in_step(node, prompts):
    """The object menu listing the prompts' objects (a script edited by hand, or a knob set
    from Python, can leave it behind); the choice is kept when it still exists."""
    menu, names = node[OBJECT], prompts.names()
    if menu.values() != names:
        chosen = menu.value()
        menu.setValues(names)
        if chosen in names:
            menu.setValue(chosen)


def current_object(node, prompts):
    """The object chosen in the menu; a new `object1` when there is none yet."""
    _menu_in_step(node, prompts)
    name = node[OBJECT].value()
    if name in prompts.names():
        return name
    name = prompts.add_object()
    save_prompts(node, prompts, name)
    return name


def plate_of(nuke, node):
    """(service plate pattern, first, last, (width, height)) from the Read on input 0."""
    read = node.input(0)
    if read is None or read.Class() != "Read":
        raise ValueError("connect the plate's Read to the MatteTrack node's input")
    plate = model.service_pattern(nuke.filename(read))
    fmt = read.format()
    return plate, int(read["first"].value()), int(read["last"].value()), (fmt.width(),
                                                                          fmt.height())


def sync_now(nuke, node, prompts=None):
    """Brings the service session in step with the node's prompts; returns its memory."""
    prompts = prompts if prompts is not None else prompts_of(node)
    plate, first, last, size = plate_of(nuke, node)
    client = make_client(node[URL].value())
    memory = sync.sync(client, prompts, plate, first, last, size, _json_knob(node, SERVICE))
    node[SERVICE].setValue(json.dumps(memory, sort_keys=True))
    return memory


# -- buttons ----------------------------------------------------------------------------------
def on_button(node, action, nuke=None):
    """What every button of the tab runs; errors go to the status line, never up to Nuke."""
    if nuke is None:
        import nuke
    import mattetrack_client

    try:
        return ACTIONS[action](nuke, node)
    except Exception as err:
        # Refusals (the adapters' AdapterError, the model's ValueError) are one status line;
        # anything else is a bug, with its traceback in the Script Editor.
        if not isinstance(err, (ValueError, mattetrack_client.AdapterError)):
            traceback.print_exc()
        set_status(node, f"error: {err}")
        return None


def _try_sync(nuke, node, prompts, done):
    """Syncs after an edit; the edit is kept in the node either way (synced at Propagate)."""
    try:
        sync_now(nuke, node, prompts)
    except Exception as err:
        set_status(node, f"{done}; not sent to the service: {err}")
        return False
    set_status(node, done)
    return True


def add_object(nuke, node):
    prompts = prompts_of(node)
    name = prompts.add_object(node[NEW_OBJECT].value())
    save_prompts(node, prompts, name)
    node[NEW_OBJECT].setValue("")
    set_status(node, f"object {name} added: place the point, press Add +")
    return name


def remove_object(nuke, node):
    prompts = prompts_of(node)
    _menu_in_step(node, prompts)
    name = node[OBJECT].value()
    prompts.remove_object(name)
    names = prompts.names()
    save_prompts(node, prompts, names[0] if names else None)
    return _try_sync(nuke, node, prompts, f"object {name} removed")


def _add_point(nuke, node, positive):
    prompts = prompts_of(node)
    name = current_object(node, prompts)
    frame = int(nuke.frame())
    x, y = float(node[POINT].value(0)), float(node[POINT].value(1))
    prompts.add_point(name, frame, x, y, positive)
    save_prompts(node, prompts, name)
    kind = "positive" if positive else "negative"
    return _try_sync(nuke, node, prompts, f"{name}: {kind} point {x:.1f},{y:.1f} on frame {frame}")


def add_positive(nuke, node):
    return _add_point(nuke, node, True)


def add_negative(nuke, node):
    return _add_point(nuke, node, False)


def _stroke_node(nuke, node):
    """The RotoPaint/Roto named in `strokes from`, else the selected one; ValueError if none."""
    name = node[STROKES_FROM].value().strip()
    if name:
        found = nuke.toNode(name)
        if found is None or found.Class() not in ROTO_CLASSES:
            raise ValueError(f"strokes from: {name!r} is not a RotoPaint or Roto node")
        return found
    for cls in ROTO_CLASSES:
        selected = nuke.selectedNodes(cls)
        if selected:
            return selected[-1]
    raise ValueError("paint strokes in a RotoPaint node, then select it or name it in "
                     "'strokes from'")


def _take_paint_strokes(nuke, roto, frame):
    """The paint strokes of `roto` (its layers included) as [(points [(x, y)] at `frame`,
    brush size px or None)], removed from it: they become prompts, and a second press must
    not add them twice. Layer transforms are not applied (paint on the root or untransformed
    layers)."""
    rp = nuke.rotopaint
    curves = roto["curves"]
    found = []

    def walk(layer):
        taken = []
        for i, element in enumerate(layer):
            if isinstance(element, rp.Layer):
                walk(element)
            elif isinstance(element, rp.Stroke):
                points = [(float(p.x), float(p.y))
                          for p in (cp.getPosition(frame) for cp in element)]
                try:
                    size = float(element.getAttributes().getValue(frame, "bs"))
                except Exception:  # no brush size on it: the default width
                    size = None
                found.append((points, size))
                taken.append(i)
        for i in reversed(taken):
            layer.remove(i)

    walk(curves.rootLayer)
    if found:
        curves.changed()
    return found


def _add_strokes(nuke, node, positive):
    prompts = prompts_of(node)
    name = current_object(node, prompts)
    frame = int(nuke.frame())
    roto = _stroke_node(nuke, node)
    added = 0
    for points, size in _take_paint_strokes(nuke, roto, frame):
        try:
            prompts.add_stroke(name, frame, points, positive, size)
        except ValueError:
            continue  # a dab (one point): nothing to draw a line through
        added += 1
    if not added:
        raise ValueError(f"{roto.name()} has no paint strokes (of two points or more)")
    save_prompts(node, prompts, name)
    kind = "positive" if positive else "negative"
    return _try_sync(nuke, node, prompts, f"{name}: {added} {kind} stroke(s) from "
                     f"{roto.name()} on frame {frame}")


def strokes_positive(nuke, node):
    return _add_strokes(nuke, node, True)


def strokes_negative(nuke, node):
    return _add_strokes(nuke, node, False)


def clear_frame(nuke, node):
    prompts = prompts_of(node)
    name = current_object(node, prompts)
    frame = int(nuke.frame())
    n = prompts.clear_frame(name, frame)
    save_prompts(node, prompts, name)
    return _try_sync(nuke, node, prompts, f"{name}: {n} prompt(s) cleared on frame {frame}")


def resync(nuke, node):
    memory = sync_now(nuke, node)
    set_status(node, f"in step with session {memory['session']}")
    return memory


# -- propagation ------------------------------------------------------------------------------
def propagate(nuke, node):
    """Syncs, then follows the propagation on a thread with a ProgressTask; returns at once
    (the thread, for scripts and tests)."""
    key = node.fullName()
    if key in _running and _running[key].is_alive():
        raise ValueError("already propagating: cancel it in the progress window first")
    memory, output = _synced_output(nuke, node)
    client = make_client(node[URL].value(), timeout=60.0)
    thread = threading.Thread(target=propagation_worker, name="mattetrack-propagate",
                              args=(nuke, node, client, memory["session"], output),
                              daemon=True)
    _running[key] = thread
    set_status(node, f"propagating to {output}")
    thread.start()
    return thread


def _synced_output(nuke, node):
    """What Propagate and Send to farm start from: the node's prompts synced to the service
    (its memory) and the output pattern (the default one filled in when empty)."""
    prompts = prompts_of(node)
    if not any(prompts.for_service(1).values()):
        raise ValueError("no points yet: place the point in the Viewer and press Add +")
    memory = sync_now(nuke, node, prompts)
    output = node[OUTPUT].value().strip()
    if not output:
        output = model.default_output(memory["plate"])
        node[OUTPUT].setValue(output)
    return memory, output


def send_to_farm(nuke, node):
    """Syncs, then has the service write the session as a farm job bundle beside the mattes on
    a thread (it reads every frame for the shot's cuts: long for a 4K shot, so never on Nuke's
    main thread); the status line then says how many tasks and how to run or submit it.
    Returns the thread."""
    import mattetrack_client

    memory, output = _synced_output(nuke, node)
    client = make_client(node[URL].value(), timeout=60.0)
    thread = threading.Thread(target=farm_worker, name="mattetrack-farm", daemon=True,
                              args=(nuke, node, client, memory["session"], output,
                                    mattetrack_client.farm_job_folder(output)))
    set_status(node, "writing the farm job...")
    thread.start()
    return thread


def farm_worker(nuke, node, client, sid, output, folder):
    import mattetrack_client

    try:
        reply = client.send_to_farm(sid, output, folder)
    except Exception as err:
        _later(nuke, set_status, node, f"farm job failed: {err}")
        return
    _later(nuke, set_status, node, mattetrack_client.farm_summary(reply))


def _later(nuke, call, *args):
    """`call(*args)` on Nuke's main thread (the only place knobs may be touched)."""
    nuke.executeInMainThread(_guarded, (call, args))


def _guarded(call, args):
    try:
        call(*args)
    except Exception:
        traceback.print_exc()


def propagation_worker(nuke, node, client, sid, output, poll_s=POLL_S):
    """The propagation thread: starts the job, mirrors its progress into a ProgressTask,
    cancels it when the task is cancelled, and imports the mattes when it is done."""
    import mattetrack_client

    task = nuke.ProgressTask("MatteTrack")
    try:
        task.setMessage("starting")
        run = mattetrack_client.Propagation(client, sid, output)
        asked_to_stop, last_done = False, -1
        while True:
            status = run.poll()
            percent, message = model.progress(status)
            task.setProgress(percent)
            task.setMessage(message)
            if status["done"] != last_done and status["state"] == "running":
                last_done = status["done"]
                _later(nuke, set_status, node, "propagating: " + message)
            if status["state"] != "running":
                break
            if not asked_to_stop and task.isCancelled():
                # The service stops after the frame in progress; keep polling for its answer.
                run.cancel()
                asked_to_stop = True
            time.sleep(poll_s)
        if status["state"] == "done":
            _later(nuke, import_job, nuke, node, client.job(run.job), status["suggested"])
        else:
            _later(nuke, set_status, node, "propagation " + message)
    except Exception as err:
        _later(nuke, set_status, node, f"propagation failed: {err}")
    finally:
        del task  # Nuke closes the progress window when the task goes away


def import_job(nuke, node, job, suggested=None):
    """Main thread, when a propagation is done: its mattes as a Read and a Copy per object,
    with the layer names the service reports; the frames to correct ({service object name:
    frames}) in the "to correct" knob."""
    memory = _json_knob(node, SERVICE) or {}
    names = {o["service_name"]: o["name"] for o in memory.get("objects", [])}
    layers = [(names.get(item["name"], item["name"]), item["layer"]) for item in job["layers"]]
    read, copies = build_mattes(nuke, node, job["output"], job["first"], job["last"], layers)
    mine = {names.get(k, k): v for k, v in (suggested or {}).items()}
    node[SUGGESTED].setValue(model.suggestions_text(mine))
    set_status(node, f"done: {job['done']} frames, mattes in {read.name()}")
    return read, copies


def next_suggestion(nuke, node):
    """Go to the next frame to correct after the current one (wrapping), for the object
    chosen in the menu (else any)."""
    frame = model.next_suggested(model.parse_suggestions(node[SUGGESTED].value()),
                                 node[OBJECT].value(), nuke.frame())
    if frame is None:
        raise ValueError("no frame to correct is suggested: propagate first")
    nuke.frame(frame)
    set_status(node, f"frame {frame}: suggested for a correction")
    return frame


# -- bringing results in ----------------------------------------------------------------------
def _existing(nuke, node, key, cls):
    found = nuke.toNode((_json_knob(node, NODES) or {}).get(key) or "")
    return found if found is not None and found.Class() == cls else None


def _remember(node, key, name):
    nodes = _json_knob(node, NODES) or {}
    nodes[key] = name
    node[NODES].setValue(json.dumps(nodes, sort_keys=True))


def build_mattes(nuke, node, pattern, first, last, layers):
    """A Read of `pattern` (raw: mattes are data, not colour) and a Copy per (object, layer)
    moving `<layer>.alpha` into rgba.alpha, as the core's .nk does; the nodes made before by
    this node are reused. Returns (read, [copy])."""
    read = _existing(nuke, node, "read", "Read")
    if read is None:
        read = nuke.nodes.Read(name=_unique(nuke, model.node_name(node.name() + "_mattes")))
        read.setXYpos(node.xpos() + 200, node.ypos())
        _remember(node, "read", read.name())
    read["file"].setValue(pattern.replace("\\", "/"))
    for knob, value in (("first", first), ("last", last), ("origfirst", first),
                        ("origlast", last)):
        read[knob].setValue(int(value))
    read["raw"].setValue(True)
    read["on_error"].setValue("black")  # a frame cut short by a cancel reads as no matte
    reload_knob = read.knob("reload")
    if reload_knob is not None:
        reload_knob.execute()  # a second propagation rewrote the files under the same names
    known = set(nuke.layers())
    copies = []
    for i, (name, layer) in enumerate(layers):
        if layer not in known:
            # Declared, as Nuke does for a layer it does not know yet, so the Copy's knob
            # resolves before the Read has opened a file.
            nuke.Layer(layer, [layer + ".alpha"])
        copy = _existing(nuke, node, "copy:" + layer, "Copy")
        if copy is None:
            copy = nuke.nodes.Copy(name=_unique(nuke, model.node_name(name + "_matte")),
                                   label="MatteTrack matte: " + name)
            copy.setXYpos(read.xpos() + 120 * i, read.ypos() + 120)
            _remember(node, "copy:" + layer, copy.name())
        copy["from0"].setValue(layer + ".alpha")
        copy["to0"].setValue("rgba.alpha")
        copy.setInput(0, read)  # B: the mattes file...
        copy.setInput(1, read)  # A: ...with this object's matte moved into its alpha
        copies.append(copy)
    return read, copies


def import_mattes(nuke, node):
    """Button: the mattes of the last propagation, each object's layer as the service reports
    it."""
    memory = _json_knob(node, SERVICE)
    if not memory:
        raise ValueError("nothing propagated yet")
    output = node[OUTPUT].value().strip() or model.default_output(memory["plate"])
    first, last = memory["range"]
    if not os.path.isfile(model.frame_path(output, first)) and \
            not os.path.isfile(model.frame_path(output, last)):
        raise ValueError(f"no mattes at {output}: propagate first")
    layers = sync.layers_of(make_client(node[URL].value()), memory)
    if layers is None:  # each object's EXR layer is the service's to say (names are sanitised)
        raise ValueError(f"the service no longer knows the propagation that wrote {output} "
                         "(restarted?): propagate again, or Read the mattes directly")
    read, copies = build_mattes(nuke, node, output, first, last, layers)
    set_status(node, f"mattes in {read.name()} ({len(copies)} objects)")
    return read, copies


def _propagated_output(node):
    """(the node's service memory, its mattes pattern) once something was propagated."""
    memory = _json_knob(node, SERVICE)
    if not memory:
        raise ValueError("nothing propagated yet")
    return memory, node[OUTPUT].value().strip() or model.default_output(memory["plate"])


def import_shapes(nuke, node):
    """Button: fits shapes on the service (a thread: it takes a while) and builds Roto nodes
    from the plan it writes beside the .nk; returns the thread."""
    return _on_thread(nuke, node, shapes_worker, "mattetrack-shapes", model.shapes_path,
                      600.0, "fitting shapes...")


def _on_thread(nuke, node, worker, name, path_of, timeout, status):
    """Starts worker(nuke, node, client, session id, path) on a daemon thread for a button
    working on the propagated session, path = path_of(the output, the plate); returns it."""
    memory, output = _propagated_output(node)
    path = path_of(output, memory["plate"])
    client = make_client(node[URL].value(), timeout=timeout)
    thread = threading.Thread(target=worker, name=name,
                              args=(nuke, node, client, memory["session"], path), daemon=True)
    set_status(node, status)
    thread.start()
    return thread


def shapes_worker(nuke, node, client, sid, script):
    try:
        written = client.export_shapes(sid, script, fmt="nuke")
    except Exception as err:
        _later(nuke, set_status, node, f"shapes failed: {err}")
        return
    _later(nuke, build_shapes, nuke, node, model.plan_path(written["output"]))


def build_shapes(nuke, node, plan_file):
    """Main thread: Roto nodes from the roto plan, after the mattes Read."""
    plan = roto.read_plan(plan_file)
    nodes = roto.build_roto(plan, nuke)
    read = _existing(nuke, node, "read", "Read")
    x, y = (read.xpos(), read.ypos()) if read is not None else (node.xpos(), node.ypos())
    for i, roto_node in enumerate(nodes):
        if read is not None:
            roto_node.setInput(0, read)
        roto_node.setXYpos(x + 120 * i, y + 240)
    shapes = sum(len(o["shapes"]) for o in plan["objects"])
    set_status(node, f"{len(nodes)} Roto node(s), {shapes} shape(s) from {plan_file}")
    return nodes


def clean_plate(nuke, node):
    """Button: the service removes the propagated objects from the plate (`mattetrack
    remove`, on a thread: it reads the whole shot), then a Read of the clean plate and a
    RotoPaint on it are made for paint work; returns the thread."""
    return _on_thread(nuke, node, functools.partial(clean_worker, front=_clean_front(node)),
                      "mattetrack-clean", model.clean_path, 60.0, "removing the objects...")


def _clean_front(node):
    """The names in the "in front" knob (none on a node made before it existed)."""
    knob = node.knob(CLEAN_FRONT)
    text = knob.value() if knob is not None else ""
    return [name.strip() for name in text.split(",") if name.strip()]


def clean_worker(nuke, node, client, sid, clean, front=()):
    try:
        folder = os.path.dirname(clean)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        started = client.start_remove(sid, clean, foreground=front)
        status = client.wait_job(started["job"])
        if status["state"] != "done":
            raise ValueError(status.get("error") or status["state"])
    except Exception as err:
        _later(nuke, set_status, node, f"clean plate failed: {err}")
        return
    _later(nuke, build_clean, nuke, node, clean, status["first"], status["last"])


def clean_plate_on_farm(nuke, node):
    """Button: the service writes the removal of the propagated objects as a farm job bundle
    (`mattetrack remove --job`) in `farm_job` beside the clean plate's files; the status line
    then says how many tasks and how to run or submit it. Returns the thread."""
    return _on_thread(nuke, node, functools.partial(clean_farm_worker, front=_clean_front(node)),
                      "mattetrack-clean-farm", model.clean_path, 60.0,
                      "writing the clean plate's farm job...")


def clean_farm_worker(nuke, node, client, sid, clean, front=()):
    import mattetrack_client

    try:
        folder = os.path.dirname(clean)
        if not os.path.isdir(folder):
            os.makedirs(folder)
        reply = client.send_removal_to_farm(sid, clean, mattetrack_client.farm_job_folder(clean),
                                            foreground=front)
    except Exception as err:
        _later(nuke, set_status, node, f"clean plate farm job failed: {err}")
        return
    _later(nuke, set_status, node, "clean plate " + mattetrack_client.farm_summary(reply))


def build_clean(nuke, node, pattern, first, last):
    """Main thread: a Read of the clean plate (colour as the plate's) and a RotoPaint on it;
    the nodes made before by this node are reused. Returns (read, paint)."""
    read = _existing(nuke, node, "clean", "Read")
    if read is None:
        read = nuke.nodes.Read(name=_unique(nuke, model.node_name(node.name() + "_clean")))
        read.setXYpos(node.xpos() - 200, node.ypos())
        _remember(node, "clean", read.name())
    read["file"].setValue(pattern.replace("\\", "/"))
    for knob, value in (("first", first), ("last", last), ("origfirst", first),
                        ("origlast", last)):
        read[knob].setValue(int(value))
    reload_knob = read.knob("reload")
    if reload_knob is not None:
        reload_knob.execute()
    paint = _existing(nuke, node, "paint", "RotoPaint")
    if paint is None:
        paint = nuke.nodes.RotoPaint(name=_unique(nuke, model.node_name(node.name() + "_paint")),
                                     label="paint on the clean plate")
        paint.setXYpos(read.xpos(), read.ypos() + 120)
        _remember(node, "paint", paint.name())
    paint.setInput(0, read)
    set_status(node, f"clean plate in {read.name()} (frames {first}-{last})")
    return read, paint


ACTIONS = {
    "next_suggestion": next_suggestion,
    "add_object": add_object, "remove_object": remove_object, "add_positive": add_positive,
    "add_negative": add_negative, "strokes_positive": strokes_positive,
    "strokes_negative": strokes_negative, "clear_frame": clear_frame, "sync": resync,
    "propagate": propagate, "send_to_farm": send_to_farm, "import_mattes": import_mattes,
    "import_shapes": import_shapes, "clean_plate": clean_plate,
    "clean_plate_on_farm": clean_plate_on_farm,
}
