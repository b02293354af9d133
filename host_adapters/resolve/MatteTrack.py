"""Workspace > Scripts > MatteTrack: asks what to do with the clip under the playhead (or
takes $MATTETRACK_RESOLVE_ACTION: open, clip-matte, track). Open in browser: the MatteTrack
browser UI on its media, its source range, an output next to the plate. Import: brings its
mattes back into the Media Pool ("MatteTrack" bin), as clip mattes or on the track above.
Needs `mattetrack serve`.

Copy or symlink this file into Resolve's Fusion/Scripts/Utility folder (see README.md). It finds
host_adapters/client and host_adapters/resolve next to its real path (a symlink), else under
$MATTETRACK_ADAPTERS. Guarded: whatever fails is reported, never raised into Resolve.
"""

import os
import sys
import traceback


def _add_adapter_paths():
    """Puts host_adapters/client and host_adapters/resolve on sys.path; False when not found."""
    roots = []
    script = globals().get("__file__")  # some hosts run a script without one
    if script:
        roots.append(os.path.dirname(os.path.dirname(os.path.realpath(script))))
    if os.environ.get("MATTETRACK_ADAPTERS"):
        roots.append(os.environ["MATTETRACK_ADAPTERS"])
    for root in roots:
        client, resolve_dir = os.path.join(root, "client"), os.path.join(root, "resolve")
        if (os.path.isfile(os.path.join(client, "mattetrack_client.py"))
                and os.path.isdir(os.path.join(resolve_dir, "mattetrack_resolve"))):
            for path in (resolve_dir, client):
                if path not in sys.path:
                    sys.path.insert(0, path)
            return True
    return False


try:
    if _add_adapter_paths():
        from mattetrack_resolve import actions

        actions.run(namespace=globals())
    else:
        print("MatteTrack: cannot find the adapters; set MATTETRACK_ADAPTERS to the "
              "host_adapters folder (holding client/ and resolve/), or symlink this script")
except Exception:  # never raise into Resolve
    traceback.print_exc()
