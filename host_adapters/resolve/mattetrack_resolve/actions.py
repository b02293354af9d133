"""The actions behind Workspace > Scripts > MatteTrack: open the browser UI on the current
timeline item; bring the mattes of its MatteTrack session back into the Media Pool; put the
object over a new background, or alone (ProRes 4444 with alpha), on the track above the item;
and cut the item's media into shots, imported as a timeline.

Both take the `resolve` object and a service client (mattetrack_client.Client), so tests run
them against a stand-in of the scripting API and a real service. Refusals raise AdapterError
with a one-line message; `run` turns those (and the client's ServiceError) into a message.
"""

import os
import traceback
import webbrowser

# AdapterError: the adapters' one refusal type (the service's ServiceError is one too).
from mattetrack_client import AdapterError

from mattetrack_resolve import host, plates

BIN_NAME = "MatteTrack"


# -- the current item -------------------------------------------------------------------------
class Shot:
    """The current timeline item and what the service needs of it."""

    def __init__(self, project, timeline, item, media, plate, first, last, absolute):
        self.project, self.timeline, self.item, self.media = project, timeline, item, media
        self.plate = plate  # plates.Plate
        self.first, self.last = first, last  # the item's source range, file frame numbers
        self.absolute = absolute  # source frames counted from the media's start timecode

    @property
    def frame_range(self):
        return None if self.plate.kind == "frame" else (self.first, self.last)


def _property(media, name):
    try:
        value = media.GetClipProperty(name)
    except Exception:  # older builds refuse unknown names
        return None
    return value if value not in ("", None, {}) else None


def _int(value):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def current_shot(resolve):
    """The current timeline's current video item as a Shot; AdapterError when there is none."""
    if resolve is None:
        raise AdapterError("MatteTrack: cannot reach DaVinci Resolve (external scripting needs "
                           "Resolve Studio; run this from Workspace > Scripts)")
    project = resolve.GetProjectManager().GetCurrentProject()
    if project is None:
        raise AdapterError("MatteTrack: no project is open")
    timeline = project.GetCurrentTimeline()
    if timeline is None:
        raise AdapterError("MatteTrack: no timeline is open")
    item = timeline.GetCurrentVideoItem()
    if item is None:
        raise AdapterError("MatteTrack: no video clip under the playhead; park on the clip")
    media = item.GetMediaPoolItem()
    path = _property(media, "File Path") if media is not None else None
    if not path:
        raise AdapterError(f"MatteTrack: {item.GetName()} has no media file (a generator, "
                           "title or compound clip?)")
    plate = plates.plate_from_path(path, _int(_property(media, "Frames")))
    base = plates.timecode_frames(_property(media, "Start TC"), _property(media, "FPS"))
    got = plates.source_range(int(item.GetSourceStartFrame()), int(item.GetSourceEndFrame()),
                              _int(item.GetDuration()), plate, base)
    if got is None:
        raise AdapterError(f"MatteTrack: the source range of {item.GetName()} is outside its "
                           f"media {plate.pattern}")
    return Shot(project, timeline, item, media, plate, got[0], got[1], got[2])


def make_client(client=None):
    """`client`, or a mattetrack_client.Client for $MATTETRACK_URL and the token file."""
    if client is not None:
        return client
    import mattetrack_client

    return mattetrack_client.Client()


# -- open in browser --------------------------------------------------------------------------
def open_ui(resolve, client=None, opener=None):
    """Opens the browser UI on the current item (plate, source range, default output) once
    the service answers, with `opener` (default: webbrowser.open); returns the address."""
    shot = current_shot(resolve)
    client = make_client(client)
    client.health()  # ServiceError (one line) when the service is not running
    output = plates.default_output(shot.plate, shot.item.GetName() or shot.media.GetName())
    url = plates.ui_url(client.url, client.token, shot.plate.pattern, shot.frame_range, output)
    (opener or webbrowser.open)(url)
    what = "" if shot.frame_range is None else f" frames {shot.first}-{shot.last}"
    print(f"MatteTrack: opened {shot.plate.pattern}{what} in the browser; mattes go to {output}")
    return url


# -- import -----------------------------------------------------------------------------------
def finished_job(client, plate_pattern):
    """(session, job status, frames written) of the latest session on the plate; AdapterError
    when there is none, or its last job is still running or did not finish."""
    mine = [s for s in client.sessions() if plates.same_plate(s["plate"], plate_pattern)]
    if not mine:
        raise AdapterError(f"MatteTrack: no MatteTrack session on {plate_pattern}; run MatteTrack "
                           "and choose Open in browser first")
    ran = [s for s in mine if s.get("job")]
    if not ran:
        raise AdapterError(f"MatteTrack: the session on {plate_pattern} has not propagated yet; "
                           "propagate in the browser first")
    session = ran[-1]  # sessions are listed oldest first
    status = client.job(session["job"])
    if status["state"] == "running":
        raise AdapterError(f"MatteTrack: the propagation on {plate_pattern} is still running "
                           f"({status['done']}/{status['total']} frames); import when it is done")
    if status["state"] != "done":
        error = ": " + status["error"] if status.get("error") else ""
        raise AdapterError(f"MatteTrack: the last propagation on {plate_pattern} "
                           f"{status['state']}{error}; nothing imported")
    frames = _written_frames(client, status)
    return session, status, frames


def _written_frames(client, status):
    """The frames the job wrote: its progress events replayed (the service keeps them), else
    the files on disk."""
    try:
        frames = sorted({e["frame"] for e in client.events(status["job"]) if "frame" in e})
    except Exception:  # ServiceError or a broken stream: look at the disk
        frames = []
    return frames or plates.scan_frames(status["output"])


def _bin(media_pool):
    """The "MatteTrack" bin under the Media Pool's root, made when missing."""
    root = media_pool.GetRootFolder()
    for folder in root.GetSubFolderList() or []:
        if folder.GetName() == BIN_NAME:
            return folder
    folder = media_pool.AddSubFolder(root, BIN_NAME)
    if folder is None:
        raise AdapterError(f"MatteTrack: cannot make the {BIN_NAME} bin in the Media Pool")
    return folder


def _import_into_bin(media_pool, what):
    """media_pool.ImportMedia(what) into the MatteTrack bin; the items ([] when refused)."""
    folder = _bin(media_pool)
    previous = media_pool.GetCurrentFolder()
    media_pool.SetCurrentFolder(folder)
    try:
        return media_pool.ImportMedia(what) or []
    finally:
        if previous is not None:  # leave the artist's bin as it was
            media_pool.SetCurrentFolder(previous)


def import_movie(media_pool, path):
    """Imports movie `path` into the MatteTrack bin; the MediaPoolItem."""
    items = _import_into_bin(media_pool, [path])
    if not items:
        raise AdapterError(f"MatteTrack: Resolve did not import {path}")
    return items[0]


def import_sequence(media_pool, pattern, first, last):
    """Imports `pattern` frames first..last into the MatteTrack bin; the MediaPoolItem."""
    items = _import_into_bin(media_pool, [{"FilePath": plates.to_printf(pattern),
                                           "StartIndex": first, "EndIndex": last}])
    if not items:
        raise AdapterError(f"MatteTrack: Resolve did not import {pattern} ({first}-{last})")
    return items[0]


def _track_of(timeline, item):
    """The video track index of `item` (GetTrackTypeAndIndex where the build has it)."""
    try:
        kind, index = item.GetTrackTypeAndIndex()
        if kind == "video":
            return int(index)
    except Exception:  # older builds: look for it track by track
        pass
    for index in range(1, timeline.GetTrackCount("video") + 1):
        for other in timeline.GetItemListInTrack("video", index) or []:
            if _same(other, item):
                return index
    raise AdapterError(f"MatteTrack: cannot find the track of {item.GetName()}")


def _same(a, b):
    # Two proxies of one Resolve object need not compare equal; their unique ids do.
    try:
        return a.GetUniqueId() == b.GetUniqueId()
    except Exception:  # builds without GetUniqueId on timeline items
        return a == b


def _free_track_above(timeline, track, start, end):
    """The first video track above `track` with nothing in [start, end); a new one when every
    track above is taken there (or there is none)."""
    for index in range(track + 1, timeline.GetTrackCount("video") + 1):
        if all(other.GetEnd() <= start or other.GetStart() >= end
               for other in timeline.GetItemListInTrack("video", index) or []):
            return index
    if not timeline.AddTrack("video"):
        raise AdapterError("MatteTrack: cannot add a video track to the timeline")
    return timeline.GetTrackCount("video")


def put_on_track_above(shot, media_pool, matte, matte_first, matte_last):
    """Appends the matte clip on the track above the item, at the item's record frames and
    over its source range; the new TimelineItem."""
    a, b = max(shot.first, matte_first), min(shot.last, matte_last)
    if a > b:
        raise AdapterError(f"MatteTrack: the mattes ({matte_first}-{matte_last}) miss the "
                           f"clip's frames ({shot.first}-{shot.last})")
    count = b - a + 1
    record = int(shot.item.GetStart()) + (a - shot.first)
    start = a - matte_first
    if shot.absolute:  # this build counts source frames from the clip's start timecode
        base = plates.timecode_frames(_property(matte, "Start TC"), _property(matte, "FPS"))
        start += matte_first if base is None else base
    track = _free_track_above(shot.timeline, _track_of(shot.timeline, shot.item), record,
                              record + count)
    added = media_pool.AppendToTimeline([{
        "mediaPoolItem": matte, "startFrame": start, "endFrame": start + count,  # end exclusive
        "mediaType": 1, "trackIndex": track, "recordFrame": record}])
    if not added:
        raise AdapterError(f"MatteTrack: Resolve did not put the mattes on video track {track}")
    return added[0], track


def import_mattes(resolve, client=None, mode="clip-matte"):
    """Brings the mattes of the current item's session into the MatteTrack bin and attaches
    them as clip mattes (`clip-matte`) or lays them on the track above (`track`); a summary."""
    if mode not in host.MODES:
        raise AdapterError(f"MatteTrack: unknown mode {mode!r} (use {' or '.join(host.MODES)})")
    shot = current_shot(resolve)
    client = make_client(client)
    session, status, frames = finished_job(client, shot.plate.pattern)
    if not frames:
        raise AdapterError(f"MatteTrack: no matte files of {status['output']} on disk")
    pattern = status["output"]
    first, last = frames[0], frames[-1]
    missing = [f for f in range(first, last + 1)
               if not os.path.isfile(plates.frame_path(pattern, f))]
    if missing:
        raise AdapterError(f"MatteTrack: {len(missing)} of the mattes {pattern} are missing "
                           f"(first: {plates.frame_path(pattern, missing[0])})")
    media_pool = shot.project.GetMediaPool()
    matte = import_sequence(media_pool, pattern, first, last)
    summary = {"session": session["session"], "job": status["job"], "output": pattern,
               "frames": [first, last], "mode": mode, "clip": matte}
    if mode == "clip-matte":
        paths = [plates.frame_path(pattern, f) for f in range(first, last + 1)]
        if not resolve.GetMediaStorage().AddClipMattesToMediaPool(shot.media, paths):
            raise AdapterError(f"MatteTrack: Resolve did not attach {pattern} as clip mattes")
        where = f"attached as clip mattes to {shot.media.GetName()}"
    else:
        added, track = put_on_track_above(shot, media_pool, matte, first, last)
        summary["track"], summary["item"] = track, added
        where = f"laid on video track {track}"
    print(f"MatteTrack: imported {pattern} ({first}-{last}) into the {BIN_NAME} bin and {where}")
    return summary


# -- composite, the object alone, cuts -------------------------------------------------------
def wait_for(client, started, what):
    """Follows a started job to its end, printing its progress to the Console every tenth;
    its end status, or AdapterError when it did not finish."""
    printed = [-1]

    def progress(status):
        total = max(1, status.get("total") or 1)
        tenth = 10 * status.get("done", 0) // total
        if status["state"] == "running" and tenth > printed[0]:
            printed[0] = tenth
            print(f"MatteTrack: {what}: {status.get('done', 0)}/{total}")

    status = client.wait_job(started["job"], on_status=progress)
    if status["state"] != "done":
        error = ": " + status["error"] if status.get("error") else ""
        raise AdapterError(f"MatteTrack: {what} {status['state']}{error}")
    return status


def composite(resolve, client=None, background=None, foreground_only=False):
    """The current item's objects (its session's propagated mattes) over `background`
    (#RRGGBB or a picture), or alone (`foreground_only`), as a ProRes 4444 movie next to the
    mattes, imported into the MatteTrack bin and laid on the track above the item (the object
    alone marked premultiplied); a summary."""
    shot = current_shot(resolve)
    client = make_client(client)
    session, status, frames = finished_job(client, shot.plate.pattern)
    stem = plates.clip_stem(shot.item.GetName() or shot.media.GetName())
    kind = "fg" if foreground_only else "comp"
    output = os.path.join(os.path.dirname(status["output"]), f"{stem}_{kind}.mov")
    fps = _property(shot.media, "FPS")
    try:
        fps = float(fps) if fps else None
    except ValueError:
        fps = None
    what = "the object alone" if foreground_only else "the composite"
    started = client.start_composite(session["session"], output, background=background,
                                     foreground_only=foreground_only, fps=fps)
    done = wait_for(client, started, what)
    media_pool = shot.project.GetMediaPool()
    clip = import_movie(media_pool, output)
    if foreground_only and not clip.SetClipProperty("Alpha Mode", "Premultiplied"):
        print(f"MatteTrack: set {clip.GetName()}'s Alpha Mode to Premultiplied yourself")
    return _laid_above(shot, media_pool, clip, session, done, output, what)


def _laid_above(shot, media_pool, clip, session, done, output, what):
    """`clip` (`output`, written by the job that ended with status `done`) on the track above
    the item; says so and returns the summary."""
    added, track = put_on_track_above(shot, media_pool, clip, done["first"], done["last"])
    print(f"MatteTrack: {what} {output} ({done['first']}-{done['last']}) is in the "
          f"{BIN_NAME} bin and on video track {track}")
    return {"session": session["session"], "job": done["job"], "output": output,
            "frames": [done["first"], done["last"]], "clip": clip, "track": track,
            "item": added}


def clean_plate(resolve, client=None, in_front=None, namespace=None):
    """The current item's objects removed from its media (`mattetrack remove`, from its
    session's propagated mattes): a clean plate next to the mattes (a copy of each frame file,
    or `<clip>_clean.mov` for a movie), imported into the MatteTrack bin and laid on the track
    above the item; a summary, or None when the artist closed the window. in_front: names of
    the session's objects kept in front (`remove --foreground`: not removed, and kept out of
    the fill); None asks (host.ask_in_front)."""
    shot = current_shot(resolve)
    client = make_client(client)
    session, status, frames = finished_job(client, shot.plate.pattern)
    names = [o["name"] for o in client.session(session["session"])["objects"]]
    if in_front is None:
        in_front = host.ask_in_front(names, namespace)
        if in_front is None:
            return None  # the artist closed the window
    unknown = [n for n in in_front if n not in names]
    if unknown:
        raise AdapterError(f"MatteTrack: {', '.join(unknown)} is not an object of the session "
                           f"on {shot.plate.pattern} (its objects: {', '.join(names)})")
    folder = os.path.join(os.path.dirname(status["output"]), "clean")
    if shot.plate.kind == "movie":
        stem = plates.clip_stem(shot.item.GetName() or shot.media.GetName())
        output = os.path.join(folder, stem + "_clean.mov")
    else:
        output = os.path.join(folder, os.path.basename(shot.plate.pattern))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise AdapterError(f"MatteTrack: cannot make {folder}: {err.strerror or err}") from None
    done = wait_for(client, client.start_remove(session["session"], output,
                                                foreground=list(in_front) or None),
                    "removing the objects")
    media_pool = shot.project.GetMediaPool()
    if output.lower().endswith(".mov"):
        clip = import_movie(media_pool, output)
    else:
        clip = import_sequence(media_pool, output, done["first"], done["last"])
    return _laid_above(shot, media_pool, clip, session, done, output, "clean plate")


def _session_for(client, shot):
    """A session on the item's plate over its source range: an open one, else a new one."""
    wanted = list(shot.frame_range) if shot.frame_range else None
    for s in client.sessions():
        if plates.same_plate(s["plate"], shot.plate.pattern) and (
                wanted is None or list(s.get("frames") or []) == wanted):
            return s["session"]
    text = "{}-{}".format(*shot.frame_range) if shot.frame_range else None
    return client.open_session(shot.plate.pattern, frame_range=text)["session"]


def cut_list(resolve, client=None):
    """The item's media over its source range cut into shots (hard cuts, dissolves, fades) as
    an OpenTimelineIO file next to the default mattes, imported as a new timeline; a summary."""
    shot = current_shot(resolve)
    client = make_client(client)
    name = shot.item.GetName() or shot.media.GetName()
    folder = os.path.dirname(plates.default_output(shot.plate, name))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise AdapterError(f"MatteTrack: cannot make {folder}: {err.strerror or err}") from None
    output = os.path.join(folder, plates.clip_stem(name) + "_cuts.otio")
    sid = _session_for(client, shot)
    done = wait_for(client, client.start_cuts(sid, output), "finding the shots")
    title = f"{plates.clip_stem(name)} shots"
    timeline = shot.project.GetMediaPool().ImportTimelineFromFile(
        output, {"timelineName": title, "importSourceClips": True})
    if not timeline:
        raise AdapterError(f"MatteTrack: Resolve did not import {output} as a timeline")
    print(f"MatteTrack: {len(done['shots'])} shot(s), {len(done['cuts'])} cut(s) in "
          f"{shot.plate.pattern}; timeline {title!r} from {output}")
    return {"output": output, "cuts": done["cuts"], "shots": done["shots"],
            "timeline": timeline}


# -- entry points -----------------------------------------------------------------------------
def run(action=None, namespace=None):
    """Runs an action for the entry script: "open" (the browser UI), "clip-matte" or "track"
    (import in that mode), "composite" (over host.background()), "foreground" (the object
    alone), "clean" (the objects removed) or "cuts"; None asks (host.ask_action). Every
    refusal becomes a one-line message (printed, and shown in a window inside Resolve);
    returns the result or None."""
    namespace = namespace if namespace is not None else {}
    try:
        if action is None:
            action = host.ask_action(namespace)
            if action is None:
                return None  # the artist closed the window
        if action not in host.ACTIONS:
            raise AdapterError(f"MatteTrack: unknown action {action!r} (use "
                               f"{', '.join(host.ACTIONS)})")
        resolve = host.get_resolve(namespace)
        if action == "open":
            return open_ui(resolve)
        if action == "composite":
            background = host.ask_background(namespace)
            if background is None:
                return None  # the artist closed the window
            return composite(resolve, background=background)
        if action == "foreground":
            return composite(resolve, foreground_only=True)
        if action == "cuts":
            return cut_list(resolve)
        if action == "clean":
            return clean_plate(resolve, namespace=namespace)
        return import_mattes(resolve, mode=action)
    except AdapterError as err:  # ServiceError included
        message = str(err)
        if not message.startswith("MatteTrack:"):
            message = "MatteTrack: " + message
        host.show_message(message, namespace)
    except Exception as err:  # a bug: the details to the Console, a line to the UI
        traceback.print_exc()
        host.show_message(f"MatteTrack: {action or 'choosing an action'} failed "
                          f"({type(err).__name__}: {err})", namespace)
    return None
