# MatteTrack's Nuke init.py: runs in every session, render-only ones included, so it only adds
# plug-in paths (the service client's folder) and never raises: a failure here is printed and
# forgotten, it must not stop a render farm from starting.
try:
    import mattetrack_nuke.paths
    import nuke

    mattetrack_nuke.paths.add_plugin_paths(nuke)
except Exception:
    import traceback

    traceback.print_exc()
