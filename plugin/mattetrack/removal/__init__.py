"""Object removal (`mattetrack remove`): each frame of the plate with the tracked objects taken
out, filled with what the camera saw of that place on other frames of the shot.

motion: the motion between neighbouring frames (a homography of the background per pair, fitted
  to optical flow outside the holes, and a similarity motion of what moves beside them) and its
  compositions;
fill: one frame's hole filled from the frames around it, their light matched at the hole's rim,
  and the rest (never seen) filled smoothly (pull-push), carried on from the frame before;
temporal: the filled frames made consistent through time (each hole pixel averaged along the
  optical flow between the filled frames), a stream with a bounded look-ahead;
run: the pipeline from plate and mattes to files, frames read on demand;
output: the files (copies of the plate with the colour replaced, or with a clean-plate layer)
  and the Nuke script reading them;
report: where the clean plate needs paint (per frame, the share of the hole no frame saw).
"""
