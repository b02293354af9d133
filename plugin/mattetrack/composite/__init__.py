"""Background replacement (`mattetrack composite`): the object over a new background, or alone
as premultiplied RGBA, with its soft edges' colours freed of the old background.

edges: the compositing arithmetic and the edge colour estimate (pymatting);
background: what goes under the object (a colour, an image, a sequence, a movie);
frames: plate and background pixels in their own colour spaces, and the working space;
writers: the output formats (EXR, PNG, TIFF sequences; ProRes 4444 movies);
run: the pipeline from plate and mattes to files.
"""
