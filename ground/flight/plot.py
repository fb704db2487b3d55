"""Series against time as a PNG, drawn by pyqtgraph on an offscreen Qt.

    render_png("out.png", [("measured", t, h, "altitude (m)"),
                           ("predicted", t2, h2, "altitude (m)"),
                           ("speed", t, v, "speed (m/s)")],
               width_px=1200, height_px=900, title="...", markers=[("apogee", 26.1)])

Series naming the same panel (the y-axis label) share a plot; panels are stacked top to
bottom in the order they first appear, their time axes linked; markers are vertical lines
on every panel (labelled on the top one), spans shaded stretches. The image is exactly width_px x height_px,
written with pyqtgraph.exporters.ImageExporter.

Qt is imported only here and only when a picture is drawn: analysing a flight or printing
JSON never needs it. Without a display the offscreen platform is used, and the running
QApplication is reused (Qt allows one per process).

Every picture Coalwood draws goes through canvas() and export() here, including the
predicted flight's (ground/trajectory/plot.py), so there is one Qt and exporter path.
"""

import os
import sys

import numpy as np

MIN_SIZE_PX = (200, 150)
MAX_SIZE_PX = (8000, 8000)
COLOURS = ("#1f4e9c", "#d1495b", "#2e933c", "#e08e0b", "#6b4c9a", "#00798c", "#444444")


class PlotError(RuntimeError):
    """The picture could not be drawn (no Qt, a bad size); one line for a person."""


def application():
    """The running QApplication, or a new one on the offscreen platform when there is no
    display. PlotError if PySide6 / pyqtgraph are missing."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from pyqtgraph.Qt import QtWidgets
    except ImportError as exc:
        raise PlotError("drawing needs PySide6 and pyqtgraph (%s)" % exc) from None
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication([sys.argv[0] if sys.argv else "coalwood"])
    return app


def check_size(width_px, height_px):
    """(width_px, height_px) as ints; PlotError outside MIN_SIZE_PX..MAX_SIZE_PX."""
    width_px, height_px = int(width_px), int(height_px)
    if not (MIN_SIZE_PX[0] <= width_px <= MAX_SIZE_PX[0]
            and MIN_SIZE_PX[1] <= height_px <= MAX_SIZE_PX[1]):
        raise PlotError("a picture is %dx%d to %dx%d pixels, not %dx%d" % (
            *MIN_SIZE_PX, *MAX_SIZE_PX, width_px, height_px))
    return width_px, height_px


def canvas(width_px, height_px):
    """A white pyqtgraph GraphicsLayoutWidget of the picture's size, laid out but never on a
    screen; returns (the pyqtgraph module, the layout). Draw into it, then export() it."""
    application()
    import pyqtgraph as pg
    from pyqtgraph.Qt import QtCore

    layout = pg.GraphicsLayoutWidget(show=False, size=(width_px, height_px))
    layout.setBackground("w")
    # laid out at its real size only once shown: shown off any screen, never on one
    layout.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    layout.resize(width_px, height_px)
    layout.show()
    return pg, layout


def export(layout, path, width_px, height_px):
    """Write canvas()'s `layout` to the PNG file `path` at exactly width_px x height_px and
    close it; returns `path`. OSError if the file cannot be written."""
    from pyqtgraph import exporters
    from pyqtgraph.Qt import QtCore

    from ground.flight.output import write_file

    try:
        application().processEvents()
        exporter = exporters.ImageExporter(layout.scene())
        params = exporter.parameters()
        params["width"] = width_px
        params["height"] = height_px
        image = exporter.export(toBytes=True)
        # the exporter rounds the height it derives from the width: scaled back to the size asked
        if image.width() != width_px or image.height() != height_px:
            image = image.scaled(width_px, height_px,
                                 QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                 QtCore.Qt.TransformationMode.SmoothTransformation)
        # encoded in memory, then written whole: a failed write leaves no half a picture
        buffer = QtCore.QBuffer()
        buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(buffer, "PNG"):
            raise PlotError("the picture could not be encoded as PNG")
        write_file(path, bytes(buffer.data()))
    finally:
        layout.close()
        layout.deleteLater()
    return path


def _panels(series):
    panels = {}
    for item in series:
        if len(item) == 3:
            name, x, y = item
            panel = ""
        else:
            name, x, y, panel = item
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.shape != y.shape:
            raise PlotError("series %r: %d times but %d values" % (name, len(x), len(y)))
        ok = np.isfinite(x) & np.isfinite(y)
        panels.setdefault(panel, []).append((str(name), x[ok], y[ok]))
    return panels


def _merged_markers(markers):
    """Markers at (nearly) one time become one line with both labels."""
    out = []
    for label, x in sorted(((str(lb), float(x)) for lb, x in markers
                            if x is not None and np.isfinite(x)), key=lambda m: m[1]):
        if out and abs(x - out[-1][1]) < 1e-6 + 1e-3 * abs(x):
            out[-1] = (out[-1][0] + ", " + label, out[-1][1])
        else:
            out.append((label, x))
    return out


def render_png(path, series, *, width_px=1200, height_px=900, title=None, markers=(),
               spans=(), x_label="time (s)"):
    """Draw `series` (see the module docstring) into the PNG file `path`; returns `path`.
    spans: (label, x0, x1) stretches shaded on every panel (labelled on the top one).
    OSError if it cannot be written; PlotError for a bad size or no Qt."""
    width_px, height_px = check_size(width_px, height_px)
    panels = _panels(series)
    if not panels:
        raise PlotError("nothing to plot")
    pg, layout = canvas(width_px, height_px)
    from pyqtgraph.Qt import QtCore

    row = 0
    if title:
        layout.addLabel(title, row=0, col=0, color="k", size="12pt")
        row = 1
    first = None
    colour = 0
    names = list(panels)
    for k, panel in enumerate(names):
        plot = layout.addPlot(row=row + k, col=0)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.showGrid(x=True, y=True, alpha=0.25)
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setPen(pg.mkPen("k"))
            plot.getAxis(axis).setTextPen(pg.mkPen("k"))
        plot.setLabel("left", panel, color="k")
        if k == len(names) - 1:
            plot.setLabel("bottom", x_label, color="k")
        plot.addLegend(offset=(-10, 10), labelTextColor="k")
        if first is None:
            first = plot
        else:
            plot.setXLink(first)
        for name, x, y in panels[panel]:
            pen = pg.mkPen(COLOURS[colour % len(COLOURS)], width=2)
            colour += 1
            plot.plot(x, y, pen=pen, name=name)
        for label, x0, x1 in spans:
            region = pg.LinearRegionItem(values=(float(x0), float(x1)), movable=False,
                                         brush=pg.mkBrush(120, 120, 120, 40),
                                         pen=pg.mkPen(None))
            plot.addItem(region)
            if k == 0 and label:
                text = pg.TextItem(label, color="#555555", anchor=(0, 1))
                text.setPos(float(x0), 0.0)
                plot.addItem(text)
        for label, x in _merged_markers(markers):
            line = pg.InfiniteLine(pos=x, angle=90, movable=False,
                                   pen=pg.mkPen("#777777", width=1,
                                                style=QtCore.Qt.PenStyle.DashLine),
                                   label=label if k == 0 else None,
                                   labelOpts={"position": 0.5, "color": "k",
                                              "rotateAxis": (1, 0), "anchors": [(0, 0), (0, 0)]})
            plot.addItem(line)
    return export(layout, path, width_px, height_px)
