"""The `mattetrack` command line (docs/ARCHITECTURE.md, "Command line").

Exit status 0 on success, 2 with a one-line error naming the file or argument on bad input,
130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from mattetrack import __version__
from mattetrack.engines import DEFAULT_ENGINE, ENGINES
from mattetrack.errors import (
    InputError,
    MatteTrackError,
    Terminated,
    interrupted_status,
    interruption,
)
from mattetrack.export.frames import MatteOutput, WriteOptions
from mattetrack.export.kinds import COMPRESSIONS, DEFAULT_COMPRESSION, OUTPUT_KINDS
from mattetrack.framerange import parse_range
from mattetrack.prompts import DEFAULT_STROKE_WIDTH
from mattetrack.shapes.formats import DEFAULT_SHAPE_FORMAT, SHAPE_FORMATS, format_help

_ENGINE_HELP = (
    f"segmentation engine (default: {DEFAULT_ENGINE}): "
    + "; ".join(f"{e.name}: {e.description}" for e in ENGINES.values())
    + ". Engines with weights (" + ", ".join(e.name for e in ENGINES.values() if e.takes_model)
    + ") take --model, --device and --compile and run on a GPU when there is one")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Ordered(argparse.Action):
    """Collect prompt options in command-line order: `--object` applies to the prompts after it."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        items.append((option_string, values))
        setattr(namespace, self.dest, items)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mattetrack", description="Click-to-select mattes tracked through a shot."
    )
    parser.add_argument("--version", action="version", version=f"mattetrack {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_track(sub)
    _add_farm(sub)
    _add_shapes(sub)
    _add_cuts(sub)
    _add_review(sub)
    _add_composite(sub)
    _add_remove(sub)
    _add_serve(sub)
    _add_ui_url(sub)
    return parser


def _add_track(sub) -> None:
    """`mattetrack track`."""
    track = sub.add_parser(
        "track",
        help="select objects from prompts and propagate their mattes through the shot",
        description="Select objects from prompts and propagate their mattes through the shot. "
        "Coordinates are display-window pixels, origin top-left, x right, y down; "
        "a prompt without F: belongs to the first frame.",
    )
    _track_arguments(track)
    track.set_defaults(func=_track)


def _add_farm(sub) -> None:
    """`mattetrack farm` and the command its tasks run, `mattetrack farm-run`."""
    farm = sub.add_parser(
        "farm",
        help="write an Open Job Description job bundle that tracks the shot on a render farm",
        description="Write an Open Job Description job bundle (Deadline Cloud's layout) that "
        "writes what `mattetrack track` with the same arguments writes, split into tasks at "
        "the keyframes (and in chunks of --frames-per-task). Run it here with `openjd run "
        "DIR/template.yaml --step LAST --run-dependencies` (LAST: Finish with "
        "--roto-channels, else Track), or submit it with `deadline "
        "bundle submit DIR` (--submit).",
    )
    _track_arguments(farm)
    farm.add_argument("--job", required=True, metavar="DIR", help="the bundle's folder")
    farm.add_argument("--frames-per-task", type=_non_negative, default=0, metavar="N",
                      help="cut spans longer than N frames into chunks (default 0: whole spans)")
    farm.add_argument("--no-cut-split", action="store_true",
                      help="do not look for shot cuts (the search reads every frame once, "
                      "~17 ms a 1080p JPEG frame; a plate of one shot has none to split at)")
    farm.add_argument("--name", help="the job's name (default: from the output's name)")
    farm.add_argument("--submit", action="store_true",
                      help="then submit the bundle with the Deadline Cloud CLI (`deadline "
                      "bundle submit`, configured for your farm and queue)")
    farm.set_defaults(func=_farm)
    run = sub.add_parser("farm-run", help="run one task of a farm job bundle (its tasks do)")
    run.add_argument("job", metavar="DIR", help="the bundle's folder")
    run.add_argument("--task", type=_non_negative, required=True, help="the task's number")
    run.add_argument("--input", required=True, help="the plate (where the farm sees it)")
    run.add_argument("--output-dir", required=True, help="the output folder (likewise)")
    run.add_argument("--model", help="the deep engine's checkpoint (likewise)")
    run.add_argument("--worker", metavar="SOCKET", help="run on the worker session's engine "
                     "(`farm-worker start`) when one answers there")
    run.set_defaults(func=_farm_run)
    worker = sub.add_parser("farm-worker", help="a farm worker session's engine, loaded once "
                            "for all its tasks (the bundle's environment starts and stops it)")
    worker.add_argument("action", choices=("start", "stop", "serve"))
    worker.add_argument("--socket", required=True, help="its Unix socket")
    worker.set_defaults(func=_farm_worker)
    finish = sub.add_parser("farm-finish", help="the last step of a farm job bundle: what needs "
                            "the whole shot (roto channels)")
    finish.add_argument("job", metavar="DIR", help="the bundle's folder")
    finish.add_argument("--output-dir", required=True, help="the output folder (where the farm "
                        "sees it)")
    finish.add_argument("--report", help="where the job's report goes (likewise)")
    finish.set_defaults(func=_farm_finish)


def _track_arguments(track: argparse.ArgumentParser) -> None:
    """What `track` takes (`farm` takes the same and hands them to its tasks)."""
    track.add_argument(
        "input", help="plate: plate.####.exr, frames/%%05d.jpg, a folder, an image, a movie"
    )
    track.add_argument("-o", "--output", required=True,
                       help="a frame pattern (mattes.####.exr, out/%%05d.png) whose suffix says "
                       "what is written: " + "; ".join(f"{k.suffix}: {k.description}"
                                                       for k in OUTPUT_KINDS.values()))
    _add_prompt_options(track)
    _add_engine_options(track)
    track.add_argument(
        "--range",
        dest="frame_range",
        metavar="A-B",
        help="only frames A to B (inclusive, file-name frame numbers)",
    )
    track.add_argument(
        "--frames",
        metavar="A-B",
        help="compute and write only frames A to B of the shot; unlike --range the shot stays "
        "whole, so prompts on any frame count (a farm task's share)",
    )
    track.add_argument(
        "--colorspace",
        help="the plate's colour space (default: scene_linear for "
        "float EXR, sRGB for 8/16-bit images)",
    )
    track.add_argument(
        "--frame-numbers",
        choices=("index", "timecode"),
        default="index",
        help="how a movie's frames are numbered: from 0 (index, the default) or as the source "
        "timecode's frame count (timecode: a movie with a timecode, e.g. 01:00:00:00 at 24 "
        "frames/s is frame 86400)",
    )
    track.add_argument(
        "--compression",
        default=DEFAULT_COMPRESSION,
        choices=tuple(COMPRESSIONS),
        help="EXR compression, lossless: " + "; ".join(
            f"{c.name}: {c.description}" for c in COMPRESSIONS.values()),
    )
    track.add_argument(
        "--cryptomatte",
        action="store_true",
        help="EXR: also write a Cryptomatte of the objects (type MatteTrack, float32; one "
        "RGBA rank layer per two objects, at most three)",
    )
    track.add_argument(
        "--merge",
        action="store_true",
        help="EXR: write each plate frame's copy, every part, channel and attribute kept bit "
        "for bit, with the mattes added: to the plate's own part when it is scanline and "
        "lossless, else (tiled, mip-mapped, lossy) as a part of their own (default: matte-only "
        "files)",
    )
    track.add_argument(
        "--window",
        choices=("data", "display"),
        default="data",
        help="EXR mattes on the plate's data window (default; Nuke) or on its display window "
        "(for Blender, which ignores a data window's offset); with --merge, display also moves "
        "the plate's parts onto their display window (decoded and re-encoded, a lossy codec as "
        "ZIP, full resolution only), so Blender shows the plate where Nuke does",
    )
    track.add_argument(
        "--blender-cryptomatte",
        action="store_true",
        help="with --merge --cryptomatte: also name the Cryptomatte after the EXR part holding "
        "it (<part>.MatteTrack), as Blender looks it up in a multi-part or named plate",
    )
    precision = track.add_mutually_exclusive_group()
    precision.add_argument(
        "--half",
        dest="half",
        action="store_true",
        default=True,
        help="float16 matte channels (default)",
    )
    precision.add_argument(
        "--float", dest="half", action="store_false", help="float32 matte channels"
    )
    track.add_argument(
        "--store",
        metavar="DIR",
        help="keep per-frame results in this folder (resumable result store)",
    )
    track.add_argument(
        "--store-memo-mb",
        type=_non_negative_float,
        default=None,
        metavar="MB",
        help="disk the store may use to remember tracks and optical flows, so that corrections "
        "recompute less (default: 1024; 0: remember none)",
    )
    track.add_argument(
        "--read-ahead",
        type=_non_negative,
        default=None,
        metavar="N",
        help="frames decoded ahead on background threads (default: 2, or 8 for a deep engine "
        "on a GPU; 0: none)",
    )
    track.add_argument(
        "--write-queue",
        type=_positive,
        default=4,
        metavar="N",
        help="frames of mattes waiting for the background writer at most (default: 4)",
    )
    track.add_argument(
        "--exact-colour",
        action="store_true",
        help="convert float plates with the exact OCIO processor, not its baked 3D LUT",
    )
    track.add_argument(
        "--roto-channels",
        action="store_true",
        help="also fit roto shapes to the mattes and add them, rasterised, as <object>_roto.A "
        "channels next to the mattes (EXR output)",
    )
    track.add_argument(
        "--roto-feather",
        type=_non_negative_float,
        default=0.0,
        metavar="PX",
        help="soft edge of the roto channels: ramp width in px (default: 0)",
    )
    track.add_argument(
        "--report",
        metavar="PATH.json",
        help="write each object's per-frame confidence and the frames where a correction "
        "would help most",
    )
    track.add_argument(
        "--review",
        metavar="OUT",
        help="after tracking, write a contact sheet (.png), an overlay movie (.mp4, .mov) or "
        "overlay frames (a .png pattern) of the mattes, with the run's confidence (as "
        "mattetrack review)",
    )
    track.add_argument(
        "--view",
        action="store_true",
        help="after tracking, serve the browser UI on the plate and the new mattes (as "
        "mattetrack serve --view) to review and correct them; Ctrl-C ends it",
    )
    track.add_argument(
        "--timings",
        action="store_true",
        help="print seconds per stage (decode, colour, engine, write) and the frames computed "
        "and reused from --store as JSON at the end",
    )
    track.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    # A farm task's: `openjd_progress:` and `openjd_status:` lines on stdout for the farm, and
    # each frame's outlines saved for the job's roto shapes (`farm-finish`).
    track.add_argument("--openjd", action="store_true", help=argparse.SUPPRESS)
    track.add_argument("--save-outlines", metavar="DIR", help=argparse.SUPPRESS)
    # ... and the confidences of its frames, at full precision (for the job's report).
    track.add_argument("--save-confidence", metavar="PATH.json", help=argparse.SUPPRESS)
    # ... and the shot's cuts (the frames opening a segment) its job found, so that an engine
    # whose tracks stop at cuts runs only the task's own segment.
    track.add_argument("--known-cuts", type=_frame_list, default=(), metavar="F,F",
                       help=argparse.SUPPRESS)


def _add_prompt_options(track: argparse.ArgumentParser) -> None:
    """The prompts, in command-line order (`--object` applies to those after it)."""
    group = track.add_argument_group("prompts (repeatable, for the current object)")
    group.add_argument(
        "--point",
        dest="prompts",
        action=_Ordered,
        metavar="[F:]X,Y",
        help="a positive click on the object",
    )
    group.add_argument(
        "--negative",
        dest="prompts",
        action=_Ordered,
        metavar="[F:]X,Y",
        help="a negative click (not the object)",
    )
    group.add_argument(
        "--box",
        dest="prompts",
        action=_Ordered,
        metavar="[F:]X0,Y0,X1,Y1",
        help="a box around the object",
    )
    group.add_argument(
        "--mask",
        dest="prompts",
        action=_Ordered,
        metavar="F:PATH",
        help="a mask image of the object on frame F (coverage >= 0.5 is the object)",
    )
    group.add_argument(
        "--stroke",
        dest="prompts",
        action=_Ordered,
        metavar="[F:]X0,Y0,X1,Y1,...",
        help="a painted line on the object (--stroke-width px wide)",
    )
    group.add_argument(
        "--negative-stroke",
        dest="prompts",
        action=_Ordered,
        metavar="[F:]X0,Y0,X1,Y1,...",
        help="a painted line on what is not the object",
    )
    group.add_argument(
        "--object",
        dest="prompts",
        action=_Ordered,
        metavar="NAME",
        help="start the next object (default: one object named 'object')",
    )
    track.add_argument(
        "--stroke-width",
        type=_positive_float,
        default=DEFAULT_STROKE_WIDTH,
        metavar="PX",
        help=f"width of the strokes in px (default: {DEFAULT_STROKE_WIDTH:g})",
    )


def _add_engine_options(track: argparse.ArgumentParser) -> None:
    """The engine (a row of the engine table) and its model, device and compilation (`track`
    and `serve` alike)."""
    track.add_argument("--engine", default=DEFAULT_ENGINE, help=_ENGINE_HELP)
    track.add_argument(
        "--model",
        metavar="PATH_OR_ID",
        help="deep engines: a folder with config.json and model.safetensors, or a Hugging Face "
        "id (default: the family's released checkpoint, e.g. facebook/sam2.1-hiera-tiny)",
    )
    track.add_argument(
        "--device",
        help="deep engines: auto (default: CUDA when there is one), cpu, cuda or cuda:N",
    )
    track.add_argument(
        "--compile",
        action="store_true",
        help="deep engines: torch.compile the image encoder (slower start, faster frames)",
    )


def _add_cuts(sub) -> None:
    """`mattetrack cuts`."""
    from mattetrack.cutlist import CUT_FORMATS

    cuts = sub.add_parser(
        "cuts",
        help="find a plate's shot cuts and write them as an editor's timeline",
        description="Find where a plate's shots change (hard cuts) and write one clip per shot: "
        + "; ".join(f"{suffix}: {what}" for suffix, (what, _) in CUT_FORMATS.items()) + ".",
    )
    cuts.add_argument("input", help="plate: a movie, plate.####.exr, frames/%%05d.jpg, a folder")
    cuts.add_argument("-o", "--output", required=True,
                      help="the cut list, by its suffix: " + ", ".join(CUT_FORMATS))
    cuts.add_argument("--range", dest="frame_range", metavar="A-B",
                      help="only frames A to B (inclusive)")
    cuts.add_argument("--fps", type=_positive_float, default=None, metavar="N",
                      help="the timeline's frame rate (default: the movie's, else 24)")
    cuts.add_argument("--frame-numbers", choices=("index", "timecode"), default="index",
                      help="a movie's frame numbers (as track)")
    cuts.add_argument("--colorspace", help="the plate's colour space (as track)")
    cuts.add_argument("-q", "--quiet", action="store_true", help="no progress or summary")
    cuts.set_defaults(func=_cuts)


def _cuts(args: argparse.Namespace) -> int:
    from mattetrack.cutlist import cut_format, progress_bar, write_cut_list
    from mattetrack.shot import Shot

    started = time.perf_counter()
    cut_format(args.output)  # a bad -o fails before anything is read
    out = Path(args.output)
    if not out.parent.is_dir():
        raise InputError(f"-o {args.output!r}: folder {out.parent} does not exist")
    shot = Shot.open(args.input, colorspace=args.colorspace,
                     frame_range=parse_range(args.frame_range), frame_numbers=args.frame_numbers)
    try:
        with progress_bar(len(shot.frames), args.quiet) as progress:
            cuts, ranges = write_cut_list(shot, args.output, args.fps, progress)
    finally:
        shot.close()
    if not args.quiet:
        print(f"mattetrack: {len(ranges)} shot(s), {len(cuts)} cut(s) in {len(shot.frames)} "
              f"frame(s) to {out} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _add_shapes(sub) -> None:
    """`mattetrack shapes`."""
    shapes = sub.add_parser(
        "shapes",
        help="fit editable, temporally coherent roto shapes (Beziers) to a matte sequence",
        description="Fit closed Bezier shapes to the 0.5 level of each object's matte, one point "
        "count per shape through the shot, point k on one frame being point k on the next.",
    )
    shapes.add_argument("mattes", help="mattes.####.exr (as track writes), a folder or a file; "
                        "or a shapes .json this command wrote, to convert it to --format "
                        "without fitting again")
    shapes.add_argument("-o", "--output",
                        help="the shapes file, ending as its format says: " + ", ".join(
                            f"{f.suffix} for {f.name}" for f in SHAPE_FORMATS.values()))
    shapes.add_argument("--format", choices=tuple(SHAPE_FORMATS), default=DEFAULT_SHAPE_FORMAT,
                        help=format_help())
    shapes.add_argument("--tolerance", type=_positive_float, default=None, metavar="PX",
                        help="how closely shapes follow the mattes, px (default: 0.75)")
    shapes.add_argument("--min-area", type=_positive_float, default=None, metavar="PX",
                        help="smallest piece that gets a shape and smallest hole kept, square px "
                        "(default: 1/6400 of the frame, 64 at 854x480, 324 at 1920x1080); "
                        "pieces and holes seen on fewer than 3 frames that are under 1%% of the "
                        "object are dropped as flicker, and ones gone for up to 2 frames keep "
                        "their shape through the gap")
    shapes.add_argument("--objects", metavar="A,B", help="only these mattes (EXR layer names)")
    shapes.add_argument("--exr", metavar="PATTERN",
                        help="also write each matte file again at PATTERN (e.g. roto.####.exr, "
                        "or the mattes' own pattern to update them in place) with the shapes "
                        "rasterised into <object>_roto.A channels")
    shapes.add_argument("--feather", type=_non_negative_float, default=0.0, metavar="PX",
                        help="soft edge of the roto channels: ramp width in px (default: 0)")
    shapes.add_argument("-q", "--quiet", action="store_true", help="no summary")
    shapes.set_defaults(func=_shapes)


def _add_review(sub) -> None:
    """`mattetrack review`."""
    from mattetrack.review import ReviewOptions

    defaults = ReviewOptions()
    review = sub.add_parser(
        "review",
        help="look at mattes over their plate: a contact sheet, an overlay movie or frames",
        description="The mattes over the display-referred plate (the plate's colour pipeline), "
        "each object in its colour with its outline. OUT ending in .png: a contact sheet of "
        "every Nth frame with each object's confidence under it (from --report); .mp4 or "
        ".mov: an H.264 movie of every frame; a .png frame pattern: every frame as a PNG.",
    )
    review.add_argument("input", help="the plate, as given to track")
    review.add_argument("mattes", help="mattes.####.exr or out/%%05d.png, as track wrote them")
    review.add_argument("-o", "--output", required=True,
                        help="sheet.png, overlay.mp4, overlay.mov or overlay.####.png")
    review.add_argument("--report", metavar="PATH.json",
                        help="track's --report: each object's confidence under the sheet")
    review.add_argument("--range", dest="frame_range", metavar="A-B",
                        help="only frames A to B (inclusive)")
    review.add_argument("--colorspace", help="the plate's colour space (as track)")
    review.add_argument("--frame-numbers", choices=("index", "timecode"), default="index",
                        help="a movie's frame numbers (as track)")
    review.add_argument("--every", type=_positive, default=defaults.every, metavar="N",
                        help=f"contact sheet: every Nth frame (default: {defaults.every})")
    review.add_argument("--columns", type=_positive, default=defaults.columns, metavar="N",
                        help=f"contact sheet: tiles per row (default: {defaults.columns})")
    review.add_argument("--tile-width", type=_positive, default=defaults.tile_width,
                        metavar="PX", help=f"contact sheet: tile width (default: "
                        f"{defaults.tile_width})")
    review.add_argument("--opacity", type=_unit_float, default=defaults.opacity,
                        help=f"of the matte colour over the plate (default: {defaults.opacity})")
    review.add_argument("--fps", type=_positive_float, default=defaults.fps,
                        help=f"movie frame rate (default: {defaults.fps:g})")
    review.add_argument("-q", "--quiet", action="store_true", help="no summary")
    review.set_defaults(func=_review)


def _add_plate_mattes_objects(parser, verb: str) -> None:
    """The plate, its mattes and the objects (composite, remove)."""
    parser.add_argument("input", help="the plate, as given to track")
    parser.add_argument("mattes", help="mattes.####.exr or out/%%05d.png, as track wrote them")
    parser.add_argument("--object", dest="objects", required=True, metavar="NAME[,NAME]",
                        help=f"the object(s) {verb}")


def _add_plate_reading(parser) -> None:
    """How the plate is read, and -q (composite, remove)."""
    parser.add_argument("--colorspace", help="the plate's colour space (as track)")
    parser.add_argument("--frame-numbers", choices=("index", "timecode"), default="index",
                        help="a movie's frame numbers (as track)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary")


def _object_names(text: str, option: str = "--object") -> tuple[str, ...]:
    """`option` NAME[,NAME] as names (each once); InputError when it names none."""
    objects = tuple(dict.fromkeys(o.strip() for o in text.split(",") if o.strip()))
    if not objects:
        raise InputError(f"{option} {text!r}: name an object")
    return objects


@contextlib.contextmanager
def _frame_counter(total: int, desc: str, quiet: bool, openjd: bool = False):
    """(on_frame(frame, written), [written, kept]) with a progress bar on a terminal; with
    `openjd`, an `openjd_progress:` line on stdout after each frame (a farm task's)."""
    from tqdm import tqdm

    counts = [0, 0]
    with tqdm(total=total, unit="frame", desc=desc, file=sys.stderr,
              disable=quiet or not sys.stderr.isatty(), dynamic_ncols=True) as bar:
        def done(frame: int, written: bool) -> None:
            counts[0 if written else 1] += 1
            bar.update(1)
            if openjd:
                print(f"openjd_progress: {100.0 * sum(counts) / max(total, 1):.1f}",
                      flush=True)

        yield done, counts


def _add_composite(sub) -> None:
    """`mattetrack composite`."""
    from mattetrack.composite.writers import COMPOSITE_FORMATS

    comp = sub.add_parser(
        "composite",
        help="the object over a new background, or alone as premultiplied RGBA",
        description="Background replacement: the objects' mattes put the plate over a new "
        "background, in linear light, with the object's own colours estimated in its soft edge "
        "(no fringe of the old background). Output by suffix: " + "; ".join(
            f"{k} {v.description}" for k, v in COMPOSITE_FORMATS.items()) + ".",
    )
    _add_plate_mattes_objects(comp, "kept (their mattes added)")
    what = comp.add_mutually_exclusive_group(required=True)
    what.add_argument("--background", metavar="IMAGE|SEQUENCE|MOVIE|#RRGGBB",
                      help="what goes under the object (its n-th frame under the plate's n-th)")
    what.add_argument("--foreground-only", action="store_true",
                      help="the object alone, premultiplied RGBA")
    comp.add_argument("--no-decontaminate", dest="decontaminate", action="store_false",
                      help="keep the plate's colours in the soft edge (the old background's "
                      "fringe stays)")
    comp.add_argument("-o", "--output", required=True,
                      help="comp.####.exr, comp.####.png, comp.####.tif or comp.mov")
    comp.add_argument("--range", dest="frame_range", metavar="A-B",
                      help="only frames A to B (inclusive)")
    comp.add_argument("--fps", type=_positive_float,
                      help="movie frame rate (default: the plate movie's, else 24)")
    _add_plate_reading(comp)
    comp.set_defaults(func=_composite)


def _add_remove(sub) -> None:
    """`mattetrack remove`."""
    rem = sub.add_parser(
        "remove",
        help="the plate with the objects removed: a clean plate, filled from the other frames",
        description="Each frame of the plate with the objects removed: where an object was, "
        "what the camera saw of that place on other frames of the shot (brought into place by "
        "the background's motion, its light matched at the hole's rim); what no frame saw is "
        "inpainted, and carried from frame to frame. Written as a copy of each plate file "
        "(every part, channel, window and pixel type kept, the colour replaced), or a ProRes "
        "4444 .mov for a movie plate.",
    )
    _add_plate_mattes_objects(rem, "removed")
    rem.add_argument("-o", "--output", required=True,
                     help="clean.####.exr (the plate's own format), or clean.mov for a movie")
    rem.add_argument("--merge", action="store_true",
                     help="EXR plates: copies of the plate as it is, the clean plate added as "
                     "the layer <object>_clean (R, G, B), as track --merge adds mattes")
    rem.add_argument("--format", dest="script", choices=("files", "nuke"), default="files",
                     help="nuke: also a Nuke script beside the files (<name>.nk) with a Read of "
                     "them and a RotoPaint, for paint work on top")
    rem.add_argument("--grow", type=int, default=4, metavar="PX",
                     help="px the hole is grown past the matte (default: 4)")
    rem.add_argument("--foreground", metavar="NAME[,NAME]",
                     help="mattes of what moves in front of the background and stays (an "
                     "actor beside the removed rig): where another frame shows it, that frame "
                     "is not taken as the background, so it is not smeared into the clean "
                     "plate")
    rem.add_argument("--range", dest="frame_range", metavar="A-B",
                     help="only write frames A to B (the whole shot is still looked at)")
    rem.add_argument("--report", metavar="PATH.json",
                     help="where the clean plate needs paint: per frame, the share of the hole "
                     "some frame saw (the rest is invented), and the frames with most invented "
                     "(track's report format)")
    rem.add_argument("--cache-mib", type=int, default=None, metavar="MIB",
                     help="MiB of plate frames kept in memory for the fill (default: 1024; "
                     "less re-reads far frames, more than the fill reaches is not used)")
    farm = rem.add_argument_group(
        "render farm", "--job DIR writes an Open Job Description job bundle (Deadline Cloud's "
        "layout) instead of the files: a task per chunk of frames, then a last step for the "
        "report and the Nuke script. Run it here with `openjd run DIR/template.yaml --step "
        "Finish --run-dependencies`, or submit it (--submit); it writes what remove writes.")
    farm.add_argument("--job", metavar="DIR", help="write the job bundle into DIR")
    farm.add_argument("--frames-per-task", type=_non_negative, default=None, metavar="N",
                      help="frames a task writes (default: 24; 0: one task)")
    farm.add_argument("--name", help="the job's name (default: from the output's name)")
    farm.add_argument("--submit", action="store_true",
                      help="then submit the bundle with the Deadline Cloud CLI (`deadline "
                      "bundle submit`, configured for your farm and queue)")
    # A farm task's: `openjd_progress:` and `openjd_status:` lines on stdout for the farm.
    rem.add_argument("--openjd", action="store_true", help=argparse.SUPPRESS)
    _add_plate_reading(rem)
    rem.set_defaults(func=_remove)


def _add_serve(sub) -> None:
    """`mattetrack serve`."""
    serve = sub.add_parser(
        "serve",
        help="run the local HTTP + JSON service that host adapters and the browser UI use",
        description="Serve sessions over HTTP + JSON (endpoints: /v1/openapi.json). Every "
        "request needs the bearer token from the token file; every path must lie under a --root.",
    )
    serve.add_argument("--root", action="append", metavar="DIR",
                       help="a folder requests may read plates from and write mattes to "
                       "(repeatable; required unless --view gives the folders)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1; others are reachable "
                       "from the network)")
    serve.add_argument("--port", type=_port, default=8765,
                       help="port (default: 8765; 0: any free port)")
    _add_engine_options(serve)
    serve.add_argument("--token-file", metavar="PATH",
                       help="the bearer token's file (default: token in $MATTETRACK_CONFIG, "
                       "$XDG_CONFIG_HOME/mattetrack or ~/.config/mattetrack; created, mode "
                       "0600, when missing)")
    serve.add_argument("--open", action="store_true",
                       help="open the browser UI in the default browser once listening")
    serve.add_argument("--view", nargs=2, metavar=("PLATE", "MATTES"),
                       help="open the browser UI on finished mattes (a pattern, folder or "
                       "file: track's output, EXR layers or grey images) over their plate, to "
                       "review and correct them; implies --open, and their folders are roots")
    serve.add_argument("--sessions", metavar="DIR",
                       help="where sessions are saved, surviving restarts (default: sessions "
                       "beside the token file)")
    serve.add_argument("--idle-close", type=_positive_float, default=1800.0, metavar="SECONDS",
                       help="unload a session unused this long: its memory is freed, its work "
                       "stays saved and comes back on the next request (default: 1800)")
    serve.set_defaults(func=_serve)


def _add_ui_url(sub) -> None:
    """`mattetrack ui-url`."""
    ui_url = sub.add_parser(
        "ui-url",
        help="print the browser UI's address with the token (for a running mattetrack serve)",
        description="Print the address of the browser UI of a running `mattetrack serve`, with "
        "the token (and optionally a shot to open) in the URL fragment, which browsers never "
        "send to the server. Keep it private: it grants access to the service.",
    )
    ui_url.add_argument("--url", default="http://127.0.0.1:8765",
                        help="the service's address (default: http://127.0.0.1:8765)")
    ui_url.add_argument("--token-file", metavar="PATH",
                        help="the bearer token's file (default: as mattetrack serve)")
    ui_url.add_argument("--plate", help="a plate (path or frame pattern) to open")
    ui_url.add_argument("--range", dest="frame_range", metavar="A-B",
                        help="frames of the plate to work on")
    ui_url.add_argument("--output", metavar="PATTERN", help="the mattes' output pattern")
    ui_url.add_argument("--mattes", metavar="PATTERN",
                        help="existing mattes to open on the plate (review and correct them)")
    ui_url.set_defaults(func=_ui_url)


def _serve(args: argparse.Namespace) -> int:
    from mattetrack.engines import get_engine
    from mattetrack.service.api import Service
    from mattetrack.service.auth import Roots, config_dir, load_or_create_token
    from mattetrack.service.server import is_loopback, make_server

    folders = list(args.root or [])
    view = None
    if args.view:
        view = [os.path.abspath(p) for p in args.view]
        folders += [_folder_of(p, "--view") for p in view]
        args.open = True
    if not folders:
        raise InputError("--root: give at least one folder (or --view PLATE MATTES)")
    roots = Roots(folders)
    token, token_file = load_or_create_token(args.token_file)
    sessions = args.sessions or str(config_dir() / "sessions")
    # Loaded once, shared by every session.
    engine = get_engine(args.engine, args.model, device=args.device, compile=args.compile)
    try:
        service = Service(engine, args.engine, roots, sessions, idle_close=args.idle_close,
                          engine_options={"model": args.model, "device": args.device})
    except InputError as err:
        raise InputError(f"--sessions {sessions}: {err}") from None
    try:
        server = make_server(service, token, args.host, args.port)
    except (OSError, OverflowError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise InputError(f"--host {args.host} --port {args.port}: cannot listen "
                         f"({reason})") from None
    if not is_loopback(args.host):
        print(f"mattetrack: warning: listening on {args.host}, reachable from other machines "
              "(the token is the only guard)", file=sys.stderr)
    print(f"mattetrack: serving {server.url}/v1 (token in {token_file})", file=sys.stderr,
          flush=True)
    if args.open:
        import threading
        import webbrowser

        from mattetrack.service.browser import ui_url

        # Bound already, so the page finds the server; the token is in the URL, not on stderr.
        # On a thread: some launchers ($BROWSER) wait for the browser to exit, and the page
        # needs the server serving meanwhile.
        url = ui_url(server.url, token) if view is None else ui_url(
            server.url, token, plate=view[0], mattes=view[1])
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    # SIGTERM stops like Ctrl-C: running jobs end after their current frame, files whole.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _folder_of(path: str, option: str) -> str:
    """The folder holding `path` (a file, pattern or folder) for a root, which must exist."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    if not os.path.isdir(folder):
        raise InputError(f"{option} {path}: no folder {folder}")
    return folder


def _view_after_track(args: argparse.Namespace) -> int:
    """`track --view`: the browser UI on the plate and the mattes just written."""
    return _serve(argparse.Namespace(
        root=None, view=[args.input, args.output], host="127.0.0.1", port=0, token_file=None,
        open=True, sessions=None, idle_close=1800.0, engine=args.engine, model=args.model,
        device=args.device, compile=args.compile))


def _interrupt(signum: int, frame) -> None:
    raise Terminated


def _ui_url(args: argparse.Namespace) -> int:
    from mattetrack.service.auth import load_or_create_token
    from mattetrack.service.browser import ui_url

    if not re.fullmatch(r"https?://[^/\s]+/?(v1/?)?", args.url):
        raise InputError(f"--url {args.url!r}: expected the service's address, such as "
                         "http://127.0.0.1:8765")
    parse_range(args.frame_range)  # a bad range fails here, not later in the browser
    token, _ = load_or_create_token(args.token_file)
    print(ui_url(args.url, token, args.plate, args.frame_range, args.output,
                 mattes=args.mattes))
    return 0




def _finite_float(text: str, allow_zero: bool) -> float:
    """A finite number > 0 (>= 0 with `allow_zero`) for argparse; its error otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value >= 0 if allow_zero else value > 0) or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected a number {'>=' if allow_zero else '>'} 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    return _finite_float(text, allow_zero=False)


def _non_negative_float(text: str) -> float:
    return _finite_float(text, allow_zero=True)


def _shapes(args: argparse.Namespace) -> int:
    from mattetrack.shapes import ShapeParams, shapes_from_mattes
    from mattetrack.shapes.formats import save_shapes
    from mattetrack.shapes.source import open_mattes

    started = time.perf_counter()
    if args.output is None and args.exr is None:
        raise InputError("shapes: give -o OUT (a shapes file), --exr PATTERN (roto channels), "
                         "or both")
    objects = [o.strip() for o in args.objects.split(",") if o.strip()] if args.objects else None
    converting = args.mattes.lower().endswith(".json") and os.path.isfile(args.mattes)
    if converting:
        doc, mattes = _shapes_document(args, objects)
    else:
        mattes = open_mattes(args.mattes, objects)
    out = Path(args.output) if args.output is not None else None
    if out is not None:
        suffix = SHAPE_FORMATS[args.format].suffix
        if out.suffix.lower() != suffix:
            raise InputError(f"-o {args.output!r}: the {args.format} output must end in {suffix}")
        if not out.parent.is_dir():
            raise InputError(f"-o {args.output!r}: folder {out.parent} does not exist")
        if converting and out.resolve() == Path(args.mattes).resolve():
            raise InputError(f"-o {args.output!r}: is the shapes document being converted")
        if args.format == "blender":
            from mattetrack.shapes.blender import find_blender

            find_blender()  # before the fitting, not after
    roto_out = _roto_output(args.exr, mattes) if args.exr is not None else None
    if not converting:
        params = ShapeParams(min_area=args.min_area)
        if args.tolerance is not None:
            params.tolerance = args.tolerance
        names = {name: name for name in mattes.objects}
        with _shapes_progress(len(mattes.frames), args.quiet) as progress:
            doc = shapes_from_mattes(iter(mattes), names, mattes.width, mattes.height, params,
                                     progress, len(mattes.frames))
    if roto_out is not None:
        from mattetrack.export.pipeline import write_roto_channels

        write_roto_channels(doc, mattes.frames, roto_out.path, args.feather, args.quiet)
    if out is not None:
        save_shapes(doc, out, args.format, mattes.frames, mattes.is_exr)
    if not args.quiet:
        count = sum(len(o.shapes) for o in doc.objects)
        where = " and ".join(str(p) for p in (out, args.exr and f"roto channels in {args.exr}")
                             if p)
        verb = "converted" if converting else "fitted"
        print(f"mattetrack: {count} shape(s) of {len(doc.objects)} object(s) over "
              f"{len(mattes.frames)} frame(s) {verb} to {where} in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _shapes_document(args: argparse.Namespace, objects: list[str] | None):
    """A saved shapes document to convert, and the matte sequence it names
    (`shapes.source.MatteSequence`, frames only: nothing is read from it unless --exr)."""
    from mattetrack.shapes.document import ShapeDocument
    from mattetrack.shapes.source import MatteSequence

    for flag, value in (("--tolerance", args.tolerance), ("--min-area", args.min_area)):
        if value is not None:
            raise InputError(f"{flag}: {args.mattes} is a shapes document, converted as it is; "
                             "run shapes on the mattes to fit again")
    doc = ShapeDocument.load(args.mattes)
    if objects:
        names = [o.name for o in doc.objects]
        missing = [o for o in objects if o not in names]
        if missing:
            raise InputError(f"--objects: {missing[0]!r} is not an object of {args.mattes} "
                             f"(objects: {', '.join(names) or 'none'})")
        doc.objects = [o for o in doc.objects if o.name in objects]
    if not doc.mattes and (args.format == "nuke" or args.exr is not None):
        what = "--exr" if args.exr is not None else "--format nuke"
        raise InputError(f"{what}: {args.mattes} does not name the mattes it was fitted to; "
                         "run shapes on the mattes")
    frames = doc.mattes or {f: "" for f in doc.frames()}
    return doc, MatteSequence(frames, [o.name for o in doc.objects], doc.width, doc.height,
                              doc.mattes_exr)


@contextlib.contextmanager
def _shapes_progress(frames: int, quiet: bool):
    """A progress callback for shape fitting: a bar over the frames' outlines, then one over
    the fitting (on a terminal, unless quiet)."""
    from tqdm import tqdm

    shown = not quiet and sys.stderr.isatty()
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if not shown:
            return
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            label, unit = (("outlines", "frame") if stage == "outlines"
                           else ("fitting shapes", "shape-frame"))
            bar = bars[stage] = tqdm(total=total or frames, unit=unit, desc=label,
                                     file=sys.stderr, dynamic_ncols=True)
        bar.n = done
        bar.refresh()

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()


def _unit_float(text: str) -> float:
    value = _non_negative_float(text)
    if value > 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not in [0, 1]")
    return value


def _review(args: argparse.Namespace) -> int:
    from mattetrack.review import ReviewOptions, review_kind
    from mattetrack.shapes.source import open_mattes
    from mattetrack.shot import Shot

    started = time.perf_counter()
    review_kind(args.output)  # a bad -o fails before anything is read
    report = _read_report(args.report) if args.report else None
    mattes = open_mattes(args.mattes)
    shot = Shot.open(args.input, colorspace=args.colorspace,
                     frame_range=parse_range(args.frame_range),
                     frame_numbers=args.frame_numbers)
    try:
        options = ReviewOptions(every=args.every, columns=args.columns,
                                tile_width=args.tile_width, opacity=args.opacity, fps=args.fps)
        count = _write_review(args.output, shot, mattes, report, options, args.quiet,
                              set(mattes.frames.values()))
    finally:
        shot.close()
    if not args.quiet:
        print(f"mattetrack: reviewed {count} frame(s) to {args.output} in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _composite(args: argparse.Namespace) -> int:

    from mattetrack.composite.background import open_background
    from mattetrack.composite.run import CompositeSettings, frames_of, write_composite
    from mattetrack.composite.writers import composite_format
    from mattetrack.export.pipeline import refuse_overwrites
    from mattetrack.framepattern import FramePattern
    from mattetrack.shapes.source import open_mattes
    from mattetrack.shot import Shot

    started = time.perf_counter()
    fmt = composite_format(args.output)  # a bad -o fails before anything is read
    objects = _object_names(args.objects)
    mattes = open_mattes(args.mattes)
    shot = Shot.open(args.input, colorspace=args.colorspace,
                     frame_range=parse_range(args.frame_range), prefetch=0, cache_size=1,
                     frame_numbers=args.frame_numbers)
    background = None
    try:
        frames = frames_of(shot, mattes, objects)
        pattern = None if fmt.movie else FramePattern.parse(args.output)
        targets = [pattern.path(f) for f in frames] if pattern else [args.output]
        refuse_overwrites(shot, targets, set(mattes.frames.values()), args.output,
                          "the mattes")
        if args.background is not None:
            background = open_background(args.background, shot.config, args.frame_numbers)
        settings = CompositeSettings(objects, background, args.decontaminate)
        with _frame_counter(len(frames), "composite", args.quiet) as (done, counts):
            write_composite(args.output, shot, mattes, frames, settings, args.fps, done)
    finally:
        shot.close()
        if background is not None:
            background.close()
    if not args.quiet:
        kept = f", {counts[1]} kept as they were" if counts[1] else ""
        print(f"mattetrack: composited {counts[0]} frame(s) to {args.output}{kept} in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _remove(args: argparse.Namespace) -> int:

    from mattetrack.composite.run import frames_of
    from mattetrack.export.pipeline import refuse_overwrites
    from mattetrack.framepattern import FramePattern
    from mattetrack.removal.run import CACHE_MIB, RemovalSettings, clean_layer, write_removed
    from mattetrack.shapes.source import open_mattes
    from mattetrack.shot import Shot

    started = time.perf_counter()
    objects = _object_names(args.objects)
    if args.grow < 0:
        raise InputError(f"--grow {args.grow}: give 0 or more px")
    if args.cache_mib is not None and args.cache_mib < 0:
        raise InputError(f"--cache-mib {args.cache_mib}: give 0 or more MiB")
    cache_mib = CACHE_MIB if args.cache_mib is None else args.cache_mib
    for name, given in (("frames_per_task", args.frames_per_task is not None),
                        ("name", args.name is not None), ("submit", args.submit)):
        if given and not args.job:
            raise InputError(": a farm job's option; give --job DIR as well", field=name)
    report = str(_report_path(args.report)) if args.report else None
    chosen = parse_range(args.frame_range)
    mattes = open_mattes(args.mattes)
    # The removal keeps its own frames (RemovalSource); the shot's display images are read
    # once each, for the motion, so its cache holds only what is read ahead.
    shot = Shot.open(args.input, colorspace=args.colorspace, frame_numbers=args.frame_numbers,
                     cache_size=3)
    try:
        if args.job and shot.is_movie:
            raise InputError(f"--job: {args.input!r} is a movie, whose clean plate is one .mov "
                             "written in order by one process; run remove here, or give frames")
        frames = frames_of(shot, mattes, objects)
        foreground = _foreground_names(args.foreground, objects, mattes)
        wanted = [f for f in frames if chosen is None or chosen[0] <= f <= chosen[1]]
        if not wanted:
            raise InputError(f"--range {args.frame_range}: no frame of the plate with mattes")
        pattern = None if shot.is_movie else FramePattern.parse(args.output)
        targets = [pattern.path(f) for f in wanted] if pattern else [args.output]
        refuse_overwrites(shot, targets, set(mattes.frames.values()), args.output, "the mattes")
        settings = RemovalSettings(objects, args.grow, foreground=foreground)
        layer = None
        if args.merge:
            if shot.is_movie or not args.output.lower().endswith(".exr"):
                raise InputError(f"-o {args.output!r}: --merge writes EXR copies of an EXR "
                                 "plate; give an .exr pattern")
            layer = clean_layer(objects)
        nuke = None
        if args.script == "nuke":
            if shot.is_movie:
                raise InputError("--format nuke: a Read of a frame sequence; this plate is a "
                                 "movie")
            stem = os.path.basename(args.output).split("#")[0].split("%")[0].rstrip("._-")
            nuke = os.path.join(os.path.dirname(os.path.abspath(args.output)),
                                (stem or "clean") + ".nk")
        if args.job:
            return _remove_job(args, shot, wanted, objects, foreground, report)
        with _frame_counter(len(wanted), "remove", args.quiet, args.openjd) as (done, counts):
            write_removed(args.output, shot, mattes, frames, wanted, settings, done,
                          layer, nuke, cache_mib, report)
    finally:
        shot.close()
    if args.openjd:
        print(f"openjd_status: {counts[0]} frame(s) written, {counts[1]} kept as they were",
              flush=True)
    if not args.quiet:
        kept = f", {counts[1]} kept as they were" if counts[1] else ""
        print(f"mattetrack: removed {', '.join(objects)} from {counts[0]} frame(s) to "
              f"{args.output}{kept} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _foreground_names(text: str | None, objects: tuple[str, ...], mattes) -> tuple[str, ...]:
    """`remove --foreground`'s names: mattes of the file, none of them removed."""
    if text is None:
        return ()
    names = _object_names(text, "--foreground")
    for name in names:
        if name not in mattes.objects:
            raise InputError(f"--foreground {name!r} is not a matte in "
                             f"{mattes.frames[min(mattes.frames)]} (mattes: "
                             f"{', '.join(mattes.objects)})")
        if name in objects:
            raise InputError(f"--foreground {name!r} is also removed (--object): an object "
                             "is either removed or kept in front")
    return names


def _remove_job(args: argparse.Namespace, shot, wanted: list[int], objects: tuple[str, ...],
                foreground: tuple[str, ...], report: str | None) -> int:
    """`remove --job DIR`: the farm's bundle for what `remove` would write (checked as far as
    it can be here: the plate, the mattes, the objects, the frames)."""
    from mattetrack.farm import write_removal_bundle
    from mattetrack.farm.removejob import removal_job

    job = removal_job(args.input, args.mattes, args.output, objects, wanted,
                      (shot.width, shot.height), grow=args.grow, merge=args.merge,
                      cache_mib=args.cache_mib, colorspace=args.colorspace,
                      frame_numbers=args.frame_numbers, per_task=args.frames_per_task,
                      nuke=args.script == "nuke", report=report, name=args.name,
                      foreground=foreground)
    root = write_removal_bundle(job, args.job)
    if not args.quiet:
        print(f"mattetrack: wrote the job bundle {root} ({len(job.tasks)} task(s) over "
              f"{len(wanted)} frame(s); its last step: Finish)", file=sys.stderr)
    if args.submit:
        _submit(root)
    return 0


def _read_report(text: str) -> dict:
    """A --report document (checked by `review.ReviewSource.open`)."""
    try:
        return json.loads(Path(text).read_text())
    except OSError as err:
        raise InputError(f"--report {text!r}: cannot read ({err.strerror})") from None
    except ValueError:
        raise InputError(f"--report {text!r}: not JSON") from None


def _named_as_mattes(report: dict | None, names: list[str]) -> dict | None:
    """The report with its objects named as the matte files name them: EXR layers hold
    sanitised names (`my dog` -> `my_dog`), a grey PNG one object called `object`."""
    from mattetrack.export.channels import sanitize_layer_name

    objects = (report or {}).get("objects")
    if not isinstance(objects, list):
        return report  # (a malformed report is refused by ReviewSource.open)
    renamed = []
    for obj in objects:
        if isinstance(obj, dict) and obj.get("name") not in names:
            layer = sanitize_layer_name(str(obj.get("name")))
            if layer in names:
                obj = {**obj, "name": layer}
            elif len(names) == 1 and len(objects) == 1:
                obj = {**obj, "name": names[0]}
        renamed.append(obj)
    return {**report, "objects": renamed}


def _write_review(output: str, shot, mattes, report, options, quiet: bool,
                  inputs: set[str]) -> int:
    """Write a review of `mattes` over `shot` at `output` (never over an input); the number of
    frames it shows."""
    from tqdm import tqdm

    from mattetrack.export.pipeline import refuse_overwrites
    from mattetrack.framepattern import FramePattern
    from mattetrack.review import ReviewSource, review_kind, write_review

    source = ReviewSource.open(shot, mattes, _named_as_mattes(report, list(mattes.objects)))
    kind = review_kind(output)
    pattern = FramePattern.parse(output) if kind == "sequence" else None
    targets = [pattern.path(f) for f in source.frames] if pattern else [output]
    refuse_overwrites(shot, targets, inputs, output, "the input")
    shown = len(source.frames) if kind != "sheet" else len(source.frames[::options.every])
    with tqdm(total=shown if kind != "sheet" else None, unit="frame", desc="review",
              disable=quiet or not sys.stderr.isatty() or kind == "sheet", file=sys.stderr,
              dynamic_ncols=True) as bar:
        write_review(output, source, options, on_frame=lambda frame: bar.update(1))
    return shown


def _report_path(text: str) -> Path:
    """Checked --report PATH.json (before any work)."""
    path = Path(text)
    if path.suffix.lower() != ".json":
        raise InputError(f"--report {text!r}: the report is JSON; give a name ending in .json")
    if not path.parent.is_dir():
        raise InputError(f"--report {text!r}: folder {path.parent} does not exist")
    if path.is_dir():
        raise InputError(f"--report {text!r}: is a folder")
    return path


def _roto_output(text: str, mattes) -> MatteOutput:
    """Checked --exr PATTERN for the roto channels of a matte sequence."""
    if not mattes.is_exr:
        raise InputError(f"--exr {text!r}: roto channels go into EXR mattes; these are not EXR")
    if os.path.splitext(text)[1].lower() != ".exr":
        raise InputError(f"--exr {text!r}: the roto channel files must end in .exr")
    from mattetrack.shapes.roto import refuse_old_roto

    output = MatteOutput(text, len(mattes.frames), field="exr")
    first = min(mattes.frames)
    folder = Path(output.path(first)).parent
    if not folder.is_dir():
        raise InputError(f"--exr {text!r}: folder {folder} does not exist")
    refuse_old_roto(mattes.frames[first], output.path(first))  # before the fitting, not after
    return output


def _non_negative(text: str) -> int:
    value = int(text) if re.fullmatch(r"\s*\d+\s*", text) else -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _non_negative(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _build_session(args: argparse.Namespace, session) -> None:
    """Create the objects and prompts given on the command line, in order."""
    from mattetrack.prompts import parse_box, parse_mask, parse_point, parse_stroke
    from mattetrack.shot.mask import read_mask

    shot = session.shot
    first = shot.frames[0]
    current: int | None = None
    pending: dict[int, str] = {}  # objects that still need a prompt: id -> name
    for option, value in args.prompts or []:
        where = f"{option} {value}"
        if option == "--object":
            current = session.add_object(value)
            pending[current] = value
            continue
        if current is None:
            current = session.add_object()
        pending.pop(current, None)
        if option in ("--point", "--negative"):
            frame, x, y = parse_point(value, option)
            session.add_point(
                current,
                first if frame is None else frame,
                x,
                y,
                positive=option == "--point",
                where=where,
            )
        elif option == "--box":
            frame, box = parse_box(value, option)
            session.add_box(current, first if frame is None else frame, box, where=where)
        elif option in ("--stroke", "--negative-stroke"):
            frame, points = parse_stroke(value, option)
            session.add_stroke(current, first if frame is None else frame, points,
                               positive=option == "--stroke", width=args.stroke_width,
                               where=where)
        else:
            frame, path = parse_mask(value, option)
            session._check_frame(frame, where)
            session.add_mask(current, frame, read_mask(path, shot.width, shot.height), where=where,
                             source=path)
    if not session.objects:
        raise InputError("no prompts: give at least one --point, --stroke, --box or --mask")
    if pending:
        name = next(iter(pending.values()))
        raise InputError(f"--object {name!r}: the object has no prompts after it")


def _track(args: argparse.Namespace) -> int:
    from mattetrack import stagetimes
    from mattetrack.engines import engine_spec
    from mattetrack.shot import Shot

    started = time.perf_counter()
    stagetimes.reset()
    if args.read_ahead is None:
        args.read_ahead = engine_spec(args.engine).default_read_ahead(args.device)
    # The cache holds the frames the engine works on plus the read-ahead; both bound memory.
    shot = Shot.open(
        args.input,
        colorspace=args.colorspace,
        frame_range=parse_range(args.frame_range),
        cache_size=max(8, args.read_ahead + 4),
        prefetch=args.read_ahead,
        exact_colour=args.exact_colour,
        frame_numbers=args.frame_numbers,
    )
    try:
        status = _track_shot(args, shot, started)
    finally:
        shot.close()
    return _view_after_track(args) if status == 0 and args.view else status


def _track_shot(args: argparse.Namespace, shot, started: float) -> int:
    from mattetrack.export.pipeline import MatteRequest
    from mattetrack.store import ResultStore

    request = MatteRequest(
        args.output,
        WriteOptions(compression=args.compression, half=args.half, merge=args.merge,
                     window=args.window, part_named_cryptomatte=args.blender_cryptomatte),
        cryptomatte=args.cryptomatte, roto_channels=args.roto_channels,
        roto_feather=args.roto_feather, write_queue=args.write_queue,
        outlines=args.save_outlines)
    MatteOutput(args.output, len(shot.frames))  # a malformed -o fails before the engine loads
    engine = _engine_for(args)
    memo = {} if args.store_memo_mb is None else {"memo_mb": args.store_memo_mb}
    store = ResultStore(args.store, shot.width, shot.height, **memo) if args.store else None
    if store is not None:
        from mattetrack.export.outputlock import OutputLock

        lock = OutputLock.for_store(str(store.root))
        lock.acquire()  # a second run on the same store is refused, not mixed in
        try:
            return _track_session(args, shot, started, engine, store, request)
        finally:
            lock.release()
    return _track_session(args, shot, started, engine, store, request)


class _NoBar:
    """A progress bar nobody sees (quiet, or stderr not a terminal): tqdm is not imported for
    it (13 ms of every run's start-up)."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def update(self, n: int = 1) -> None:
        pass


def _tracking_bar(total: int, show: bool):
    """The tracking progress bar on stderr when `show`, else one that draws nothing."""
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc="tracking", file=sys.stderr, dynamic_ncols=True)


def _progress(bar, openjd: bool, total: int):
    """A frame went to the writer: the progress bar, and for a farm task its progress line."""
    done = [0]

    def step(frame: int) -> None:
        bar.update(1)
        if openjd:
            done[0] += 1
            print(f"openjd_progress: {100.0 * done[0] / max(total, 1):.1f}", flush=True)

    return step


# A farm worker's engines, kept from one task to the next (None: every run loads its own).
_ENGINES: dict | None = None


def _engine_for(args: argparse.Namespace):
    """The engine `track` runs: loaded now, or the one a farm worker loaded for an earlier
    task with the same options."""
    from mattetrack.engines import get_engine

    key = (args.engine, args.model, args.device, args.compile)
    if _ENGINES is not None and key in _ENGINES:
        return _ENGINES[key]
    engine = get_engine(args.engine, args.model, device=args.device, compile=args.compile)
    if _ENGINES is not None:
        _ENGINES[key] = engine
        print(f"openjd_status: engine {args.engine} loaded, kept for this worker's next tasks",
              flush=True)
    return engine


def _frame_list(text: str) -> tuple[int, ...]:
    """F,F,...: frame numbers (an argparse type)."""
    try:
        return tuple(int(f) for f in text.split(",") if f.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected frame numbers F,F,...") from None


def _frames_option(text: str | None, shot) -> list[int] | None:
    """--frames A-B: the shot's frames from A to B (None: all of them)."""
    if text is None:
        return None
    try:
        first, last = parse_range(text)
    except InputError as err:
        raise InputError(err.detail, field="frames") from None
    frames = [f for f in shot.frames if first <= f <= last]
    if not frames:
        raise InputError(f"{text!r}: no frame of the shot ({shot.frames[0]}-{shot.frames[-1]}) "
                         "is in it", field="frames")
    return frames


def _ready_s(session) -> float:
    """Seconds from process start to the first frame decoded with the engine running."""
    from mattetrack import stagetimes

    marks = [session.engine_started_at, session.shot.stats.first_at]
    if any(m is None for m in marks):
        return -1.0
    since = stagetimes.since_process_start(max(marks))
    return -1.0 if since is None else since


def _track_session(args: argparse.Namespace, shot, started: float, engine, store,
                   request) -> int:
    """`track` once the engine and the store (locked) are there."""
    from mattetrack.export.pipeline import plan_mattes, run_mattes
    from mattetrack.session import Session

    session = Session(shot, engine, store)
    session.known_cuts = tuple(args.known_cuts)
    _build_session(args, session)
    session.adopt_bases()  # prompts on frames with stored mattes correct those mattes
    plan = plan_mattes(session, request, _frames_option(args.frames, shot))
    report = _report_path(args.report) if args.report else None
    if args.review is not None:
        from mattetrack.review import review_kind

        review_kind(args.review)  # a bad --review fails before the tracking
    opened = time.perf_counter()

    show = not args.quiet and sys.stderr.isatty()
    with _tracking_bar(len(plan.frames), show) as bar:
        result = run_mattes(session, plan, on_submitted=_progress(bar, args.openjd,
                                                                   len(plan.frames)),
                            quiet=args.quiet)
    if args.openjd:
        counts = session.last_run
        print(f"openjd_status: {result.frames} frame(s): {counts.frames_computed} computed, "
              f"{result.frames - counts.frames_computed} from the task's earlier run; "
              f"{counts.tracks_computed} track step(s)", flush=True)
    if args.timings:
        from mattetrack import stagetimes

        stats = shot.stats
        timings = {
            "frames": result.frames,
            # Frames whose file already held their mattes (--store's outputs.json): not written.
            "kept": result.kept,
            "total_s": time.perf_counter() - started,
            "setup_s": opened - started,  # opening, engine load, keyframe selection
            # Decode and colour run partly on the read-ahead thread, overlapped with the engine.
            "decode_s": stats.decode,
            "colour_s": stats.colour,
            "frames_read": stats.frames_read,
            "frames_prefetched": stats.prefetched,
            "read_wait_s": stats.waited,  # the engine blocked on frames not read yet
            # Propagation time, including the reads it waited for (read_wait_s).
            "engine_s": result.engine_s,
            "write_s": result.write_s,  # on the writer thread, overlapped
            "write_wait_s": result.write_wait_s,  # the loop blocked on a full writer queue
            # --roto-channels: rasterising and writing the shapes into the files afterwards.
            "roto_s": result.roto_s,
            # Object-frames computed by the engine / taken from --store, and frames computed.
            "computed": session.last_run.computed,
            "reused": session.last_run.reused,
            "frames_computed": session.last_run.frames_computed,
            # Track steps taken from --store's memo of tracks / computed (classic).
            "tracks_remembered": session.last_run.tracks_remembered,
            "tracks_computed": session.last_run.tracks_computed,
            # Optical flows taken from that memo / computed (classic).
            "flows_remembered": session.last_run.flows_remembered,
            "flows_computed": session.last_run.flows_computed,
            # Seconds per engine stage (stagetimes: flow, confidence, edges), summed over the
            # threads doing them.
            **{f"{stage}_s": s for stage, s in stagetimes.totals().items()},
            # Process start (the OS's record) to the first frame decoded and the engine
            # running: start-up, what every rerun of the artist's loop pays (-1: not known).
            "ready_s": _ready_s(session),
        }
        print("mattetrack: timings " + json.dumps({k: round(v, 3) for k, v in timings.items()}),
              file=sys.stderr)
    if report is not None and not result.cancelled:
        from mattetrack.report import write_report

        write_report(report, session, plan.frames)
    if args.save_confidence and not result.cancelled:
        from mattetrack.store import atomic_write_bytes

        names = {obj.id: obj.name for obj in session.objects}
        wanted = set(plan.frames)
        doc = {names[i]: {str(f): c for f, c in conf.items() if f in wanted}
               for i, conf in session.confidence.items() if i in names}
        atomic_write_bytes(Path(args.save_confidence), json.dumps(doc).encode())
    if args.review is not None and not result.cancelled:
        from mattetrack.report import build_report
        from mattetrack.review import ReviewOptions
        from mattetrack.shapes.source import open_mattes

        _write_review(args.review, shot, open_mattes(args.output), build_report(
            session, plan.frames), ReviewOptions(), args.quiet,
            session.input_files | {plan.output.path(f) for f in plan.frames})
    if not args.quiet:
        seconds = time.perf_counter() - started
        kept = f" ({result.kept} more were up to date)" if result.kept else ""
        print(
            f"mattetrack: wrote {result.frames - result.kept} frame(s) of "
            f"{len(session.objects)} object(s) to {args.output}{kept} in {seconds:.1f} s "
            f"({result.frames / max(seconds, 1e-9):.1f} frames/s)",
            file=sys.stderr,
        )
    return 0


# Options of `track` a farm job cannot take yet: they need the whole shot in one process, or
# they are the job's own (its result stores).
_NOT_ON_FARM = ("store", "review", "view", "save_outlines", "save_confidence")
# Options every task sets itself.
_FARM_OWN = {"input", "output", "job", "frames_per_task", "name", "submit", "func", "command",
             "quiet", "timings", "store_memo_mb", "model", "prompts", "openjd", "frames",
             "roto_channels", "roto_feather", "report", "known_cuts", "no_cut_split"}


def _farm(args: argparse.Namespace) -> int:
    """`mattetrack farm`: the bundle (and `deadline bundle submit`)."""
    from mattetrack.engines import engine_spec, get_engine
    from mattetrack.farm import make_job, write_bundle
    from mattetrack.session import Session
    from mattetrack.shot import Shot

    for name in _NOT_ON_FARM:
        if getattr(args, name):
            raise InputError(": a farm job cannot take it yet (run track for it)", field=name)
    spec = engine_spec(args.engine)
    MatteOutput(args.output, 1)  # a malformed -o fails here
    report = str(_report_path(args.report).absolute()) if args.report else None
    # An engine whose tracks stop at cuts finds them here (cheap to load: it has no weights),
    # reading every frame once, ahead on threads.
    engine = get_engine(args.engine) if spec.stops_at_cuts and not args.no_cut_split else None
    shot = Shot.open(args.input, colorspace=args.colorspace,
                     frame_range=parse_range(args.frame_range),
                     prefetch=spec.read_ahead if engine is not None else 0,
                     frame_numbers=args.frame_numbers)
    try:
        session = Session(shot, None)  # prompts only: the engine runs on the farm
        _build_session(args, session)
        options, masks = _farm_options(args)
        job = make_job(session, args.input, args.output, options, spec, masks=masks,
                       frames=_frames_option(args.frames, shot),
                       frames_per_task=args.frames_per_task, model=args.model,
                       device=args.device, report=report, name=args.name,
                       roto_feather=args.roto_feather if args.roto_channels else None,
                       engine=engine)
    finally:
        shot.close()
    root = write_bundle(job, args.job)
    if args.frames_per_task and not spec.span_results and not args.quiet:
        print(f"mattetrack: --frames-per-task: the {args.engine} engine's tracks remember every "
              "keyframe and their last frames, so its task is never cut", file=sys.stderr)
    if not args.quiet:
        cuts = f", {len(job.cuts)} cut(s)" if job.cuts else ""
        print(f"mattetrack: wrote the job bundle {root} ({len(job.tasks)} task(s) over "
              f"{sum(map(len, job.frames))} frame(s){cuts}; its last step: {job.last_step})",
              file=sys.stderr)
    if args.submit:
        _submit(root)
    return 0


def _submit(bundle: Path) -> None:
    """--submit: `deadline bundle submit` of the bundle written (a one-line error when the
    Deadline CLI is missing or fails)."""
    from mattetrack.farm import submit_command

    cmd = submit_command(bundle)
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise InputError(f"{' '.join(cmd)}: exited {proc.returncode}", field="submit")


def _farm_options(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """`track`'s options as the tasks get them (what was given, in argparse's terms), the
    prompts in their order with each mask file's copy in the bundle; and {copy: source}."""
    parser = _Parser(prog="mattetrack track")
    _track_arguments(parser)
    options: list[str] = []
    for action in parser._actions:
        if action.dest in _FARM_OWN or not action.option_strings:
            continue
        value = getattr(args, action.dest, action.default)
        flag = action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
            # Two flags may share a destination (--half / --float): the one that sets it.
            if value == action.const and value != action.default:
                options.append(flag)
        elif value is not None and value != action.default:
            options += [flag, str(value)]
    masks: dict[str, str] = {}
    for option, value in args.prompts or []:
        if option == "--mask":
            frame, _, path = value.partition(":")
            name = f"masks/{len(masks):03d}_{os.path.basename(path)}"
            masks[name] = path
            value = f"{frame}:{name}"
        options += [option, value]
    return options, masks


def _farm_run(args: argparse.Namespace) -> int:
    """`mattetrack farm-run DIR --task N`: one task of a bundle, as `track --frames A-B` with
    the task's own result store (so a task run again resumes), reporting to the farm."""
    from mattetrack.farm import STORES, read_job
    from mattetrack.farm.plan import bounding_cuts

    job = read_job(args.job)
    if args.task >= len(job["tasks"]):
        raise InputError(f"{args.task}: the job has {len(job['tasks'])} task(s)", field="task")
    first, last = job["tasks"][args.task]
    store = os.path.join(args.output_dir, STORES, job["job_id"], f"task-{args.task}")
    argv = ["track", args.input, *job["options"], "-o",
            os.path.join(args.output_dir, job["output_name"]), "--frames", f"{first}-{last}",
            "--store", store, "--openjd", "--timings", "-q"]
    if job.get("roto") is not None:
        argv += ["--save-outlines", os.path.join(store, "outlines")]
    if job.get("report"):
        argv += ["--save-confidence", os.path.join(store, "confidence.json")]
    if args.model:
        argv += ["--model", args.model]
    around = bounding_cuts(job.get("cuts", []), first, last)
    if around:
        argv += ["--known-cuts", ",".join(map(str, around))]
    print(f"openjd_status: task {args.task}: frames {first}-{last}", flush=True)
    if args.worker:
        from mattetrack.farm.worker import relay, request

        rc = request(args.worker, {"argv": argv}, relay)
        if rc is not None:
            return rc
        print("openjd_status: no worker answers; the task loads its own engine", flush=True)
    track_args = build_parser().parse_args(argv)
    return track_args.func(track_args)


def _farm_worker(args: argparse.Namespace) -> int:
    """`mattetrack farm-worker start|stop|serve --socket PATH` (the bundle's environment)."""
    import socket

    from mattetrack.farm import worker

    if not hasattr(socket, "AF_UNIX"):
        print("openjd_status: no Unix sockets here: each task loads its own engine",
              flush=True)
        return 0
    if args.action == "start":
        worker.start(args.socket, [*worker.python_command(), "farm-worker", "serve",
                                   "--socket", args.socket])
        print(f"openjd_status: worker started ({args.socket})", flush=True)
    elif args.action == "stop":
        print(f"openjd_status: worker {'stopped' if worker.stop(args.socket) else 'gone'}",
              flush=True)
    else:
        global _ENGINES
        _ENGINES = {}
        worker.serve(args.socket, main)
    return 0


def _farm_finish(args: argparse.Namespace) -> int:
    """`mattetrack farm-finish DIR`: the job's last step, what needs the whole shot: the roto
    shapes fitted from every task's saved outlines, their channels added to the written files
    (as `track --roto-channels` adds them once every frame is written)."""
    from mattetrack.export.pipeline import write_roto_channels
    from mattetrack.farm import STORES, read_job
    from mattetrack.shapes.outlinefile import load_outlines
    from mattetrack.shapes.temporal import fit_outlines

    job = read_job(args.job)
    output = MatteOutput(os.path.join(args.output_dir, job["output_name"]), 1)
    root = os.path.join(args.output_dir, STORES, job["job_id"])
    names = dict(enumerate(job["objects"]))
    every = [f for task_frames in job["frames"] for f in task_frames]

    def task_file(task: int, name: str) -> str:
        path = os.path.join(root, f"task-{task}", name)
        if not os.path.isfile(path):
            first, last = job["tasks"][task]
            raise InputError(f"{path}: missing; run task {task} (frames {first}-{last}) again "
                             "first", field="job")
        return path

    if args.report:
        confidence: dict[str, dict[int, float]] = {name: {} for name in names.values()}
        for task in range(len(job["tasks"])):
            with open(task_file(task, "confidence.json")) as f:
                for name, conf in json.load(f).items():
                    confidence[name].update({int(k): float(c) for k, c in conf.items()})
        from mattetrack.report import report_of, write_report_doc

        write_report_doc(args.report, report_of(
            [(name, job["keyframes"][i], confidence[name]) for i, name in names.items()],
            every))
        print(f"openjd_status: report written to {args.report}", flush=True)
    if job.get("roto") is not None:
        per_object: dict[int, list] = {i: [] for i in names}
        print(f"openjd_status: roto shapes of {len(names)} object(s)", flush=True)
        for task, task_frames in enumerate(job["frames"]):
            for frame in task_frames:
                found = load_outlines(task_file(task, os.path.join("outlines", f"{frame}.npz")))
                for i, outlines in enumerate(found):
                    per_object[i].append((frame, outlines))
        width, height = job["size"]
        doc = fit_outlines(per_object, names, width, height)
        print("openjd_progress: 50.0", flush=True)
        write_roto_channels(doc, {f: output.path(f) for f in every}, output.path,
                            job["roto"]["feather"], quiet=True)
        print(f"openjd_status: roto channels written into {len(every)} file(s)", flush=True)
    print("openjd_progress: 100.0", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mattetrack` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MatteTrackError as err:
        print(f"mattetrack: error: {err}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Exception) as err:
        signalled = interruption(err)  # SIGTERM / Ctrl-C, or an error they caused
        if signalled is not None:
            code, line = interrupted_status(signalled)
            print(f"mattetrack: {line}", file=sys.stderr)
            return code
        if isinstance(err, OSError):  # a disk full, a folder that cannot be written
            print(f"mattetrack: error: {err.filename or 'mattetrack'}: {err.strerror or err}",
                  file=sys.stderr)
            return 2
        raise

if __name__ == "__main__":
    sys.exit(main())
