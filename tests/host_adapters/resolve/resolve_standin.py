"""A stand-in for DaVinci Resolve's scripting API: the documented method names (Resolve,
ProjectManager, Project, MediaPool, Folder, MediaPoolItem, MediaStorage, Timeline,
TimelineItem) with the behaviour the README and measured reports describe, recording every
mutating call in `resolve.calls` as ("Class.Method", args).

What it models, and how sure that is:
- A sequence's "File Path" reads `/dir/name.[1001-1008].exr` (as ImportMedia's documented
  example names the clip `file_[001-100].dpx`); its "Start TC" is its first frame number.
- Source frames: `convention="absolute"` counts them from the clip's start timecode (reported on
  Resolve 20/21 for media with a non-zero start TC), `"offset"` from its first frame.
  GetSourceEndFrame and AppendToTimeline's endFrame are exclusive (reported on 20.3 and 21.0).
- recordFrame / GetStart are absolute timeline frames (a timeline starts at 86400, 01:00:00:00).
- ImportMedia of a `%0Nd` FilePath fails (returns []) unless every frame file exists;
  AppendToTimeline fails on a missing track or an overlap, as a cautious Resolve would.
- A movie file imported is probed (PyAV) for its frame count and start timecode (its tmcd
  track; 00:00:00:00 without one, as Resolve shows such files).
- MediaPoolItem.SetClipProperty takes the documented "Alpha Mode" values ("None", "Straight",
  "Premultiplied") and refuses others (returns False).
- MediaPool.ImportTimelineFromFile (Resolve 18.5+, OTIO among its formats) reads the file with
  OpenTimelineIO, refuses what it cannot read (returns None) and adds a Timeline with one item
  per clip; the timeline's name is importOptions' "timelineName".
"""

import itertools
import os

FPS = 24
_ids = itertools.count(1)


def timecode(frames, fps=FPS):
    s, f = divmod(frames, fps)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"


class MediaPoolItem:
    def __init__(self, resolve, properties, first_frame=0):
        self._resolve = resolve
        self._props = dict(properties)
        self._id = f"mpi-{next(_ids)}"
        self.first_frame = first_frame  # file frame number of the clip's first frame
        self.mattes = []

    def GetName(self):
        return self._props["Clip Name"]

    def GetUniqueId(self):
        return self._id

    def GetMediaId(self):
        return self._id

    def GetClipProperty(self, name=None):
        if name is None:
            return dict(self._props)
        return self._props.get(name, "")

    def SetClipProperty(self, name, value):
        self._resolve.calls.append(("MediaPoolItem.SetClipProperty", (self, name, value)))
        if name == "Alpha Mode" and value not in ("None", "Straight", "Premultiplied"):
            return False
        self._props[name] = value
        return True

    @property
    def frames(self):
        return int(self._props["Frames"])

    @property
    def tc_base(self):
        return self._resolve.tc_frames(self._props["Start TC"])

    def __repr__(self):
        return f"MediaPoolItem({self.GetName()!r})"


def sequence_item(resolve, pattern_printf, first, last):
    """A media pool clip for frames first..last of a `%0Nd` pattern, as Resolve shows one."""
    directory, name = os.path.split(pattern_printf)
    head, rest = name.split("%", 1)
    width = int(rest[: rest.index("d")] or "0")
    tail = rest[rest.index("d") + 1 :]
    shown = f"{head}[{first:0{width}d}-{last:0{width}d}]{tail}"
    return MediaPoolItem(resolve, {
        "Clip Name": shown, "File Path": os.path.join(directory, shown),
        "Frames": str(last - first + 1), "Start TC": timecode(first), "FPS": str(FPS),
        "Type": "Still"}, first)


def movie_item(resolve, path, frames, start_tc="01:00:00:00"):
    return MediaPoolItem(resolve, {
        "Clip Name": os.path.basename(path), "File Path": path, "Frames": str(frames),
        "Start TC": start_tc, "FPS": str(FPS), "Type": "Video"}, 0)


def probed_movie_item(resolve, path):
    """A media pool clip for movie `path`: frames and start timecode as its file has them."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = stream.frames or sum(1 for _ in container.demux(stream) if _.size)
        tc = stream.metadata.get("timecode") or next(
            (s.metadata["timecode"] for s in container.streams if "timecode" in s.metadata),
            "00:00:00:00")
    return movie_item(resolve, path, frames, tc)


class Folder:
    def __init__(self, name):
        self._name = name
        self.clips = []
        self.subfolders = []
        self._id = f"folder-{next(_ids)}"

    def GetName(self):
        return self._name

    def GetClipList(self):
        return list(self.clips)

    def GetSubFolderList(self):
        return list(self.subfolders)

    def GetUniqueId(self):
        return self._id


class TimelineItem:
    def __init__(self, resolve, timeline, media, track, record, offset, count):
        self._resolve, self._timeline, self._media = resolve, timeline, media
        self.track, self.record, self.offset, self.count = track, record, offset, count
        self._id = f"item-{next(_ids)}"

    def GetName(self):
        return self._media.GetName()

    def GetUniqueId(self):
        return self._id

    def GetMediaPoolItem(self):
        return self._media

    def GetStart(self, subframe_precision=False):
        return self.record

    def GetEnd(self, subframe_precision=False):
        return self.record + self.count  # exclusive, as Resolve's

    def GetDuration(self, subframe_precision=False):
        return self.count

    def _base(self):
        return self._media.tc_base if self._resolve.convention == "absolute" else 0

    def GetSourceStartFrame(self):
        return self._base() + self.offset

    def GetSourceEndFrame(self):
        return self._base() + self.offset + self.count  # exclusive

    def GetLeftOffset(self, subframe_precision=False):
        return self.offset

    def GetRightOffset(self, subframe_precision=False):
        return self._media.frames - self.offset - self.count

    def GetTrackTypeAndIndex(self):
        if self._resolve.legacy:
            raise AttributeError("GetTrackTypeAndIndex")  # an older build: no such method
        return ["video", self.track]

    def file_frames(self):
        """Stand-in only: the media's file frame numbers this item shows, first and last."""
        first = self._media.first_frame + self.offset
        return first, first + self.count - 1


class Timeline:
    def __init__(self, resolve, name, tracks=1, start=86400):
        self._resolve = resolve
        self._name = name
        self.start = start
        self.tracks = [[] for _ in range(tracks)]
        self.current = None
        # Stand-in only, an imported timeline's clips: (name, media, source start, frames,
        # record frame).
        self.otio_clips = []

    def GetName(self):
        return self._name

    def GetStartFrame(self):
        return self.start

    def GetEndFrame(self):
        ends = [i.GetEnd() for track in self.tracks for i in track]
        return max(ends, default=self.start)

    def GetTrackCount(self, track_type):
        return len(self.tracks) if track_type == "video" else 0

    def AddTrack(self, track_type, sub_track_type=None):
        self._resolve.calls.append(("Timeline.AddTrack", (track_type,)))
        if track_type != "video":
            return False
        self.tracks.append([])
        return True

    def GetItemListInTrack(self, track_type, index):
        if track_type != "video" or not 1 <= index <= len(self.tracks):
            return None
        return list(self.tracks[index - 1])

    def GetCurrentVideoItem(self):
        return self.current

    def place(self, media, track, record, offset, count):
        """Stand-in only: an edit already on the timeline."""
        item = TimelineItem(self._resolve, self, media, track, record, offset, count)
        self.tracks[track - 1].append(item)
        return item


class MediaPool:
    def __init__(self, resolve):
        self._resolve = resolve
        self.root = Folder("Master")
        self.current = self.root

    def GetRootFolder(self):
        return self.root

    def GetCurrentFolder(self):
        return self.current

    def SetCurrentFolder(self, folder):
        self._resolve.calls.append(("MediaPool.SetCurrentFolder", (folder.GetName(),)))
        self.current = folder
        return True

    def AddSubFolder(self, folder, name):
        self._resolve.calls.append(("MediaPool.AddSubFolder", (folder.GetName(), name)))
        sub = Folder(name)
        folder.subfolders.append(sub)
        return sub

    def ImportMedia(self, items):
        self._resolve.calls.append(("MediaPool.ImportMedia", (items,)))
        made = []
        for info in items:
            if isinstance(info, dict):
                pattern, first, last = info["FilePath"], info["StartIndex"], info["EndIndex"]
                if any(not os.path.isfile(pattern % f) for f in range(first, last + 1)):
                    return []
                made.append(sequence_item(self._resolve, pattern, first, last))
            else:
                if not os.path.isfile(info):
                    return []
                made.append(probed_movie_item(self._resolve, info))
        self.current.clips.extend(made)
        return made

    def AppendToTimeline(self, infos):
        self._resolve.calls.append(("MediaPool.AppendToTimeline", (infos,)))
        timeline = self._resolve.project.GetCurrentTimeline()
        added = []
        for info in infos:
            media, track = info["mediaPoolItem"], info.get("trackIndex", 1)
            start, end = info["startFrame"], info["endFrame"]
            offset = start - (media.tc_base if self._resolve.convention == "absolute" else 0)
            count = end - start
            record = info["recordFrame"]
            if not 1 <= track <= len(timeline.tracks) or count < 1 or offset < 0 \
                    or offset + count > media.frames:
                return []
            if any(o.record < record + count and record < o.GetEnd()
                   for o in timeline.tracks[track - 1]):
                return []
            added.append(timeline.place(media, track, record, offset, count))
        return added

    def ImportTimelineFromFile(self, path, options=None):
        self._resolve.calls.append(("MediaPool.ImportTimelineFromFile", (path, options)))
        import opentimelineio as otio

        try:
            read = otio.adapters.read_from_file(path)
        except Exception:  # Resolve answers None for a file it cannot import
            return None
        name = (options or {}).get("timelineName") or read.name
        timeline = Timeline(self._resolve, name)
        record = timeline.start
        for clip in read.find_clips():
            count = int(clip.source_range.duration.value)
            timeline.otio_clips.append((clip.name, clip.media_reference.target_url
                                        if hasattr(clip.media_reference, "target_url") else
                                        clip.media_reference.abstract_target_url("#"),
                                        int(clip.source_range.start_time.value), count, record))
            record += count
        self._resolve.project.timelines.append(timeline)
        return timeline

    def GetClipMatteList(self, media):
        return list(media.mattes)


class MediaStorage:
    def __init__(self, resolve):
        self._resolve = resolve

    def GetMountedVolumeList(self):
        return ["/"]

    def AddClipMattesToMediaPool(self, media, paths, stereo_eye=None):
        self._resolve.calls.append(("MediaStorage.AddClipMattesToMediaPool", (media, paths)))
        if not paths or any(not os.path.isfile(p) for p in paths):
            return False
        media.mattes.extend(paths)
        return True


class Project:
    def __init__(self, resolve, name):
        self._resolve = resolve
        self._name = name
        self.media_pool = MediaPool(resolve)
        self.timeline = None
        self.timelines = []  # imported ones (ImportTimelineFromFile)

    def GetName(self):
        return self._name

    def GetMediaPool(self):
        return self.media_pool

    def GetCurrentTimeline(self):
        return self.timeline

    def SetCurrentTimeline(self, timeline):
        self.timeline = timeline
        return True


class ProjectManager:
    def __init__(self, project):
        self.project = project

    def GetCurrentProject(self):
        return self.project


class Resolve:
    """The root object. `convention`: how source frames count ("absolute" or "offset");
    `legacy`: a build without TimelineItem.GetTrackTypeAndIndex."""

    def __init__(self, convention="absolute", legacy=False):
        self.convention = convention
        self.legacy = legacy
        self.calls = []
        self.project = Project(self, "MatteTrack test")
        self.project_manager = ProjectManager(self.project)
        self.media_storage = MediaStorage(self)

    def GetProjectManager(self):
        return self.project_manager

    def GetMediaStorage(self):
        return self.media_storage

    def GetProductName(self):
        return "DaVinci Resolve Studio"

    def GetVersionString(self):
        return "20.0.0.0"

    def Fusion(self):
        return None  # no UIManager here: the adapter falls back to printing

    def tc_frames(self, tc):
        h, m, s, f = (int(x) for x in tc.split(":"))
        return ((h * 60 + m) * 60 + s) * FPS + f

    def called(self, name):
        """Stand-in only: the args of every recorded call to `name`."""
        return [args for what, args in self.calls if what == name]


def with_clip(media, record_offset=10, offset=1, count=5, tracks=1, **kw):
    """A Resolve with one timeline whose current video item shows `media` (made by the given
    factory from the Resolve) frames offset..offset+count-1 on track 1."""
    resolve = Resolve(**kw)
    clip = media(resolve)
    resolve.project.media_pool.root.clips.append(clip)
    timeline = Timeline(resolve, "Edit", tracks=tracks)
    resolve.project.timeline = timeline
    timeline.current = timeline.place(clip, 1, timeline.start + record_offset, offset, count)
    return resolve
