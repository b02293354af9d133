"""Roto shapes: temporally coherent closed cubic Bezier shapes fitted to coverage mattes.

contour (the 0.5 iso-line, sub-pixel, pieces and holes) -> bezier (adaptive fitting with one
tolerance) -> temporal (pieces followed through the shot, one point count per shape, point k on
one frame is point k on the next) -> document (the shapes JSON) and raster (back to mattes).
"""

from mattetrack.shapes.document import Shape, ShapeDocument, ShapeObject
from mattetrack.shapes.temporal import ShapeParams, shapes_from_mattes, shapes_from_session

__all__ = ["Shape", "ShapeDocument", "ShapeObject", "ShapeParams", "shapes_from_mattes",
           "shapes_from_session"]
