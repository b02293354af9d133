# MatteTrack's Nuke menu. Guarded: nothing here may break Nuke's start-up.
try:
    import mattetrack_nuke.node
    import mattetrack_nuke.roto
    import nuke

    _mattetrack_menu = nuke.menu("Nuke")
    _mattetrack_menu.addCommand(
        "MatteTrack/MatteTrack", lambda: mattetrack_nuke.node.create(nuke), "ctrl+alt+m"
    )
    _mattetrack_menu.addCommand(
        "MatteTrack/Import Roto Shapes...", lambda: mattetrack_nuke.roto.import_plan(nuke)
    )
    # Also in the Nodes toolbar, where compositors look for node-making commands.
    nuke.menu("Nodes").addMenu("MatteTrack").addCommand(
        "MatteTrack", lambda: mattetrack_nuke.node.create(nuke), "ctrl+alt+m"
    )
    del _mattetrack_menu
except Exception:
    import traceback

    traceback.print_exc()
