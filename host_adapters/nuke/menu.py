# MatteTrack's Nuke menu. Guarded: nothing here may break Nuke's start-up.
try:
    import mattetrack_nuke.roto
    import nuke

    nuke.menu("Nuke").addCommand(
        "MatteTrack/Import Roto Shapes...", lambda: mattetrack_nuke.roto.import_plan(nuke)
    )
except Exception:  # noqa: BLE001 - report and carry on, whatever went wrong
    import traceback

    traceback.print_exc()
