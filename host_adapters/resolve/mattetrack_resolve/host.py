"""What needs Resolve's own globals: the `resolve` object, messages and the action prompt.

Scripts started from Workspace > Scripts get `resolve`, `fusion` and `bmd` as globals; a script
started outside Resolve (Studio only) asks DaVinciResolveScript for them. Every call here is
guarded: a missing or failing UI falls back to printing, which lands in Resolve's Console.
"""

import os
import traceback

MODES = ("clip-matte", "track")  # the import modes
# What the MatteTrack script can do; the first is the default.
ACTIONS = ("open",) + MODES + ("composite", "foreground", "clean", "cuts")
ACTION_ENV = "MATTETRACK_RESOLVE_ACTION"
BACKGROUND_ENV = "MATTETRACK_RESOLVE_BACKGROUND"
IN_FRONT_ENV = "MATTETRACK_RESOLVE_IN_FRONT"
DEFAULT_BACKGROUND = "#00b140"  # chroma green: a background the editor replaces at once


def get_resolve(namespace=None):
    """The `resolve` object: the script's global, else `bmd.scriptapp("Resolve")`, else
    DaVinciResolveScript's (external scripting, Resolve Studio only); None when none answers."""
    namespace = namespace or {}
    if namespace.get("resolve") is not None:
        return namespace["resolve"]
    bmd = namespace.get("bmd")
    if bmd is not None:
        try:
            got = bmd.scriptapp("Resolve")
            if got is not None:
                return got
        except Exception:  # any failure means: try the next way
            pass
    try:
        import DaVinciResolveScript as dvr  # only on a machine with Resolve's Modules folder

        return dvr.scriptapp("Resolve")
    except Exception:  # ImportError, or the module failing to reach Resolve
        return None


def _fusion(namespace):
    namespace = namespace or {}
    fusion = namespace.get("fusion")
    if fusion is None and namespace.get("resolve") is not None:
        try:
            fusion = namespace["resolve"].Fusion()
        except Exception:  # a stand-in or an old build without Fusion()
            fusion = None
    return fusion, namespace.get("bmd")


def show_message(text, namespace=None):
    """Prints `text` (one line) and, inside Resolve, shows it in a small window."""
    print(text)
    fusion, bmd = _fusion(namespace)
    if fusion is None or bmd is None:
        return
    try:
        ui = fusion.UIManager
        disp = bmd.UIDispatcher(ui)
        win = disp.AddWindow(
            {"ID": "MatteTrackMessage", "WindowTitle": "MatteTrack",
             "Geometry": [200, 200, 520, 110]},
            ui.VGroup([ui.Label({"Text": text, "WordWrap": True}),
                       ui.Button({"ID": "OK", "Text": "OK"})]))
        win.On.OK.Clicked = lambda ev: disp.ExitLoop()
        win.On.MatteTrackMessage.Close = lambda ev: disp.ExitLoop()
        win.Show()
        disp.RunLoop()
        win.Hide()
    except Exception:  # the message is printed already
        traceback.print_exc()


def env_action():
    """`$MATTETRACK_RESOLVE_ACTION` when it is a known action, else None."""
    value = os.environ.get(ACTION_ENV, "").strip().lower()
    return value if value in ACTIONS else None


def ask_action(namespace=None):
    """What the MatteTrack script does: `$MATTETRACK_RESOLVE_ACTION`, else the artist's pick in
    a three-button window (inside Resolve; None when it is closed), else "open"."""
    action = env_action()
    if action is not None:
        return action
    fusion, bmd = _fusion(namespace)
    if fusion is None or bmd is None:
        return ACTIONS[0]
    picked = [None]
    try:
        ui = fusion.UIManager
        disp = bmd.UIDispatcher(ui)
        win = disp.AddWindow(
            {"ID": "MatteTrackAction", "WindowTitle": "MatteTrack",
             "Geometry": [200, 200, 560, 140]},
            ui.VGroup([ui.Label({"Text": "The clip under the playhead:"}),
                       ui.HGroup([ui.Button({"ID": "Open", "Text": "Open in browser"}),
                                  ui.Button({"ID": "ClipMatte", "Text": "Import as clip mattes"}),
                                  ui.Button({"ID": "Track", "Text": "Import on track above"})]),
                       ui.HGroup([ui.Button({"ID": "Composite", "Text": "Composite over..."}),
                                  ui.Button({"ID": "Foreground",
                                             "Text": "Object alone (ProRes 4444)"}),
                                  ui.Button({"ID": "Clean", "Text": "Clean plate"}),
                                  ui.Button({"ID": "Cuts", "Text": "Shots to a timeline"})])]))

        def choose(action):
            picked[0] = action
            disp.ExitLoop()

        win.On.Open.Clicked = lambda ev: choose("open")
        win.On.ClipMatte.Clicked = lambda ev: choose("clip-matte")
        win.On.Track.Clicked = lambda ev: choose("track")
        win.On.Composite.Clicked = lambda ev: choose("composite")
        win.On.Foreground.Clicked = lambda ev: choose("foreground")
        win.On.Clean.Clicked = lambda ev: choose("clean")
        win.On.Cuts.Clicked = lambda ev: choose("cuts")
        win.On.MatteTrackAction.Close = lambda ev: disp.ExitLoop()
        win.Show()
        disp.RunLoop()
        win.Hide()
    except Exception:  # no UI: the default action
        traceback.print_exc()
        return ACTIONS[0]
    return picked[0]  # None: the window was closed, do nothing


def ask_background(namespace=None):
    """What goes under the object: `$MATTETRACK_RESOLVE_BACKGROUND`, else what the artist types
    in a window (#RRGGBB or a picture's path; inside Resolve; None when it is closed), else
    DEFAULT_BACKGROUND."""
    value = os.environ.get(BACKGROUND_ENV, "").strip()
    if value:
        return value
    return _ask(namespace, "MatteTrackBackground", [200, 200, 520, 110],
                lambda ui: ui.VGroup([
                    ui.Label({"Text": "Background: #RRGGBB, or an image, sequence or movie"}),
                    ui.LineEdit({"ID": "Background", "Text": DEFAULT_BACKGROUND}),
                    ui.Button({"ID": "OK", "Text": "Composite"})]),
                lambda win: win.Find("Background").Text.strip() or DEFAULT_BACKGROUND,
                DEFAULT_BACKGROUND)


def ask_in_front(objects, namespace=None):
    """Which of the session's `objects` (names) stay in front of the clean plate: kept, not
    removed, and kept out of what fills the holes (`remove --foreground`). With one object,
    none; else `$MATTETRACK_RESOLVE_IN_FRONT` (names, comma-separated; "none"), else the
    artist's ticks in a window (inside Resolve; None when it is closed), else none."""
    if len(objects) < 2:
        return ()
    value = os.environ.get(IN_FRONT_ENV)
    if value is not None:
        names = tuple(n.strip() for n in value.split(",") if n.strip())
        return () if names in ((), ("none",)) else names
    return _ask(namespace, "MatteTrackInFront", [200, 200, 420, 80 + 26 * len(objects)],
                lambda ui: ui.VGroup([
                    ui.Label({"Text": "Kept in front (not removed, not smeared into the clean "
                                      "plate):"}),
                    *(ui.CheckBox({"ID": f"InFront{k}", "Text": name})
                      for k, name in enumerate(objects)),
                    ui.Button({"ID": "OK", "Text": "Clean plate"})]),
                lambda win: tuple(name for k, name in enumerate(objects)
                                  if win.Find(f"InFront{k}").Checked),
                ())


def _ask(namespace, window, geometry, layout, answer, fallback):
    """A window inside Resolve (Fusion's UIManager) asking one thing: `layout(ui)` its controls,
    an "OK" button among them; `answer(win)` read when it is pressed. None when the window is
    closed; `fallback` where there is no UI."""
    fusion, bmd = _fusion(namespace)
    if fusion is None or bmd is None:
        return fallback
    picked = [None]
    try:
        ui = fusion.UIManager
        disp = bmd.UIDispatcher(ui)
        win = disp.AddWindow({"ID": window, "WindowTitle": "MatteTrack", "Geometry": geometry},
                             layout(ui))

        def accept(ev):
            picked[0] = answer(win)
            disp.ExitLoop()

        win.On.OK.Clicked = accept
        getattr(win.On, window).Close = lambda ev: disp.ExitLoop()
        win.Show()
        disp.RunLoop()
        win.Hide()
    except Exception:  # no UI: the fallback
        traceback.print_exc()
        return fallback
    return picked[0]
