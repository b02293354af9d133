"""MatteTrack inside Nuke: standard library only; every `nuke` call is in this package."""
