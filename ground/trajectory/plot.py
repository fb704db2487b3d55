"""A predicted flight as a PNG: altitude against time beside the ground track.

pyqtgraph draws and exports it on an offscreen Qt through ground/flight/plot.py's canvas()
and export(), the one picture path, so it works on a machine with no display (a server,
CI); Qt is imported only when a picture is asked for.
"""

from ground.flight.plot import MAX_SIZE_PX, MIN_SIZE_PX, PlotError, canvas, check_size, export

__all__ = ["MAX_SIZE_PX", "MIN_SIZE_PX", "write_png"]


def write_png(flight, path, width_px=1000, height_px=450, *, title=None, target_xy_m=None):
    """Draw `flight` (a FlightResult) into the PNG file `path`, `width_px` x `height_px`.

    Left: height above the pad against time, apogee marked. Right: the ground track, x east
    and y north in metres at equal scale, with the pad, the landing point and (if given)
    `target_xy_m`, a point on the ground the question was about. Returns `path`; OSError if
    the file cannot be written, ValueError for a size out of range.
    """
    try:
        width_px, height_px = check_size(width_px, height_px)
    except PlotError as exc:
        raise ValueError(str(exc)) from None
    pg, layout = canvas(width_px, height_px)
    if title:
        layout.addLabel(title, row=0, col=0, colspan=2, color="k")
    row = 1 if title else 0
    ink = pg.mkPen("#1f4e9c", width=2)

    height = layout.addPlot(row=row, col=0, title="altitude", labels={
        "left": "height above the pad (m)", "bottom": "time from ignition (s)"})
    height.showGrid(x=True, y=True, alpha=0.25)
    height.plot(flight.t_s, flight.z_m, pen=ink)
    height.plot([flight.time_to_apogee_s], [flight.apogee_m], pen=None, symbol="t1",
                symbolSize=11, symbolBrush="#c0392b", symbolPen=None)

    track = layout.addPlot(row=row, col=1, title="ground track", labels={
        "left": "north (m)", "bottom": "east (m)"})
    track.showGrid(x=True, y=True, alpha=0.25)
    track.setAspectLocked(True)
    track.plot(flight.x_m, flight.y_m, pen=ink)
    track.plot([0.0], [0.0], pen=None, symbol="s", symbolSize=10, symbolBrush="#2e7d32",
               symbolPen=None, name="pad")
    track.plot([flight.x_m[-1]], [flight.y_m[-1]], pen=None, symbol="x", symbolSize=13,
               symbolBrush="#c0392b", symbolPen=pg.mkPen("#c0392b", width=2), name="landing")
    marks = [("pad", (0.0, 0.0), "#2e7d32"),
             ("landing", (float(flight.x_m[-1]), float(flight.y_m[-1])), "#c0392b")]
    if target_xy_m is not None:
        target_xy_m = (float(target_xy_m[0]), float(target_xy_m[1]))
        track.plot([target_xy_m[0]], [target_xy_m[1]], pen=None, symbol="star", symbolSize=14,
                   symbolBrush="#e67e22", symbolPen=None, name="target")
        marks.append(("target", target_xy_m, "#e67e22"))
    # labels lean toward the middle of the track, or the plot's edge would cut them off
    xs = [float(flight.x_m.min()), float(flight.x_m.max())] + [xy[0] for _, xy, _ in marks]
    middle_x = 0.5 * (min(xs) + max(xs))
    for label, (x, y), color in marks:
        text = pg.TextItem(label, color=color, anchor=(1, 1) if x > middle_x else (0, 1))
        text.setPos(x, y)
        track.addItem(text)
    return export(layout, path, width_px, height_px)
