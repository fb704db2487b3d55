"""The window's flight view: one analysed flight as plots, events, statistics and export.

    view = FlightView()
    view.show_file("flight.cwf")            # any format ground/flight/formats reads
    view.set_rocket_file("rocket.json")     # the predicted altitude over the measured one
    view.export_csv("flight.csv"); view.export_png("flight.png", 1200, 900)

What it shows is what `coalwood analyze` prints: the statistics and events tables are
built from the rows ground/commands/analyze.py prints (statistics_rows, event_rows,
Prediction.rows), the export is the command's own CSV and PNG (write_csv, write_overlay).

Logs are loaded and analysed on the GUI thread: a typical log takes well under 0.1 s and
even a million samples about half a second, so a worker thread would add more states than
it saves waiting. Anything wrong (a corrupt log, a bad rocket file, an export that cannot be
written) is one line in the view and the `error` signal; the flight on screen stays.
"""

import math
import os

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets
from PySide6.QtCore import Qt, Signal

from ground.cli_common import one_line
from ground.commands.analyze import (
    event_rows,
    heading_lines,
    prediction_for,
    statistics_rows,
    write_overlay,
)
from ground.flight import FlightFormatError, analyze, load
from ground.flight.export import write_csv
from ground.flight.plot import COLOURS, PlotError
from ground.trajectory import TrajectoryError
from ground.trajectory import spec as rocket_spec
from ground.ui.theme import restyle

PLOTS = (("altitude", "altitude (m)"), ("speed", "vertical speed (m/s)"),
         ("acceleration", "acceleration (m/s²)"))
DEFAULT_PNG_SIZE_PX = (1200, 900)  # the command's --png-size default
LOG_FILTER = "Flight logs (*.cwf *.csv *.pf2 *.txt);;All files (*)"
# thick, dark pens on white: read in sunshine at the pad
CURVE_WIDTH_PX = 3
MEASURED_SYMBOL_PX = 4
EVENT_LINE_WIDTH_PX = 2
BRIDGE_BRUSH_RGBA = (90, 90, 90, 60)
# events close together (burnout just after liftoff) would print their labels on top of
# each other at one height: consecutive labels step down the line
EVENT_LABEL_POSITIONS = (0.95, 0.8, 0.65, 0.5)


def _read_only_table(object_name, headers):
    table = QtWidgets.QTableWidget(0, len(headers))
    table.setObjectName(object_name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    # whole texts, never elided: a clipped figure reads as a different figure
    table.horizontalHeader().setSectionResizeMode(
        QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
    table.setTextElideMode(Qt.TextElideMode.ElideNone)
    return table


def _fill_table(table, rows):
    table.setRowCount(0)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QtWidgets.QTableWidgetItem(str(text))
            item.setToolTip(str(text))
            table.setItem(r, c, item)
    table.resizeRowsToContents()


class FlightView(QtWidgets.QWidget):
    """One analysed flight: altitude, speed and acceleration plots with the events and the
    bridged stretches, the events and statistics tables, the prediction when a rocket is
    known, CSV and PNG export.

    Signals: shown(str title) after a flight is drawn; error(str) with the one line the
    view also shows. Attributes for the window (read-only): analysis, prediction (an
    analyze.Prediction or None), plots {"altitude"|"speed"|"acceleration": PlotItem},
    curves {name: PlotDataItem}, event_lines and bridge_regions {plot name: [items]}."""

    shown = Signal(str)
    error = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("flightView")
        self.analysis = None
        self.prediction = None
        self.curves = {}
        self.event_lines = {name: [] for name, _label in PLOTS}
        self.bridge_regions = {name: [] for name, _label in PLOTS}
        self._spec = None
        self._last_dir = ""
        self._build()
        self._enable_flight_actions(False)

    # --- building the widgets ----------------------------------------------------------------
    def _build(self):
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(self._build_bar())
        self.details_label = QtWidgets.QLabel("")
        self.details_label.setObjectName("flightDetails")
        self.details_label.setVisible(False)
        layout.addWidget(self.details_label)
        self.message_label = QtWidgets.QLabel("")
        self.message_label.setObjectName("flightMessage")
        self.message_label.setProperty("role", "banner")
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setVisible(False)
        layout.addWidget(self.message_label)

        splitter = QtWidgets.QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_plots())
        splitter.addWidget(self._build_tables())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])  # scaled to the window's width when shown
        layout.addWidget(splitter, 1)

    def _build_bar(self):
        bar = QtWidgets.QHBoxLayout()
        self.title_label = QtWidgets.QLabel("No flight shown: open a flight log")
        self.title_label.setObjectName("flightTitle")
        self.title_label.setProperty("role", "heading")
        # a long file name is cut, not a reason for the window to grow past the screen
        self.title_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                       QtWidgets.QSizePolicy.Policy.Preferred)
        bar.addWidget(self.title_label, 1)
        self.open_button = self._button("Open flight log…", "flightOpenButton",
                                        self.choose_flight_file)
        self.rocket_button = self._button("Compare with rocket file…", "flightRocketButton",
                                          self.choose_rocket_file)
        self.csv_button = self._button("Export CSV…", "flightExportCsvButton",
                                       self.choose_csv_file)
        self.png_button = self._button("Export PNG…", "flightExportPngButton",
                                       self.choose_png_file)
        # in a tool bar the buttons that do not fit fold into its » menu: the view never
        # makes the window wider than the plots need
        tools = QtWidgets.QToolBar()
        tools.setObjectName("flightTools")
        for button in (self.open_button, self.rocket_button, self.csv_button, self.png_button):
            tools.addWidget(button)
        bar.addWidget(tools)
        return bar

    def _button(self, text, object_name, slot):
        button = QtWidgets.QPushButton(text)
        button.setObjectName(object_name)
        button.clicked.connect(slot)
        return button

    def _build_plots(self):
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setObjectName("flightPlots")
        self.plot_widget.setBackground("w")
        self.plots = {}
        first = None
        for row, (name, label) in enumerate(PLOTS):
            plot = self.plot_widget.addPlot(row=row, col=0)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.showGrid(x=True, y=True, alpha=0.3)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setPen(pg.mkPen("k", width=1))
                plot.getAxis(axis).setTextPen(pg.mkPen("k"))
            plot.setLabel("left", label, color="k")
            if row == len(PLOTS) - 1:
                plot.setLabel("bottom", "time from liftoff (s)", color="k")
            # a filled legend stays readable where an event's label runs under it
            plot.addLegend(offset=(-10, 10), labelTextColor="k", labelTextSize="11pt",
                           brush=pg.mkBrush(255, 255, 255, 220), pen=pg.mkPen("k"))
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            self.plots[name] = plot
        return self.plot_widget

    def _build_tables(self):
        panel = QtWidgets.QWidget()
        panel.setObjectName("flightTables")
        column = QtWidgets.QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._caption("Statistics"))
        self.statistics_table = _read_only_table("flightStatistics", ["figure", "value"])
        column.addWidget(self.statistics_table, 4)

        self.prediction_label = QtWidgets.QLabel("")
        self.prediction_label.setObjectName("flightPredictionHeading")
        self.prediction_label.setWordWrap(True)
        column.addWidget(self.prediction_label)
        self.prediction_table = _read_only_table(
            "flightPrediction", ["figure", "predicted", "measured", "predicted - measured"])
        column.addWidget(self.prediction_table, 2)
        self.prediction_warnings = QtWidgets.QLabel("")
        self.prediction_warnings.setObjectName("flightPredictionWarnings")
        self.prediction_warnings.setProperty("role", "banner")
        self.prediction_warnings.setProperty("level", "warn")
        self.prediction_warnings.setWordWrap(True)
        column.addWidget(self.prediction_warnings)
        self._show_prediction_rows(None)

        column.addWidget(self._caption("Events"))
        self.events_table = _read_only_table("flightEvents",
                                             ["time", "event", "altitude", "source"])
        column.addWidget(self.events_table, 2)
        self.notes_caption = self._caption("Notes")
        column.addWidget(self.notes_caption)
        self.notes_text = QtWidgets.QPlainTextEdit()
        self.notes_text.setObjectName("flightNotes")
        self.notes_text.setReadOnly(True)
        column.addWidget(self.notes_text, 1)
        return panel

    def _caption(self, text):
        label = QtWidgets.QLabel(text)
        label.setProperty("role", "heading")
        return label

    def _enable_flight_actions(self, enabled):
        for button in (self.rocket_button, self.csv_button, self.png_button):
            button.setEnabled(enabled)

    # --- messages ---------------------------------------------------------------------------
    def _fail(self, message):
        message = one_line(message)
        self._say(message, "danger")
        self.error.emit(message)
        return False

    def _say(self, message, level):
        # whatever a library put in it, the view shows a single line
        self.message_label.setText(one_line(message) if message else "")
        restyle(self.message_label, level=level)
        self.message_label.setVisible(bool(message))

    def message(self):
        """The line the view shows (an error or what it last wrote), or ""."""
        return self.message_label.text() if self.message_label.isVisibleTo(self) else ""

    # --- a flight ---------------------------------------------------------------------------
    def show_file(self, path):
        """Load and analyse the log at `path` and show it; True if shown. If it cannot be
        read, one line (and `error`) and the flight on screen stays."""
        path = os.fspath(path)
        QtWidgets.QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            result = analyze(load(path))
        except FlightFormatError as exc:
            return self._fail("%s: %s" % (path, exc))
        except OSError as exc:
            return self._fail("cannot read %s: %s" % (path, exc.strerror or exc))
        except (ValueError, ArithmeticError, IndexError) as exc:
            # a log a reader accepted but the analysis cannot use: one line in the window
            # all the same, never a traceback on a console nobody watches
            return self._fail("%s: cannot analyse this log (%s)" % (path, exc))
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        self._last_dir = os.path.dirname(os.path.abspath(path))
        self.show_analysis(result)
        return True

    def show_analysis(self, analysis, title=None):
        """Show an Analysis (ground.flight.analyze); `title` replaces the file's name and
        format in the heading. A known rocket (set_prediction_source) is flown for it."""
        doc = analysis.to_dict()
        self.analysis = analysis
        self._say("", "info")
        heading = heading_lines(doc)
        self.title_label.setText(title or heading[0])
        self.title_label.setToolTip(self.title_label.text())
        self.details_label.setText("; ".join(heading[1:] if title is None else heading))
        self.details_label.setVisible(bool(self.details_label.text()))
        _fill_table(self.statistics_table, statistics_rows(doc))
        _fill_table(self.events_table, event_rows(doc))
        self.notes_text.setPlainText("\n".join(doc["notes"]))
        for widget in (self.notes_caption, self.notes_text):
            widget.setVisible(bool(doc["notes"]))
        self._draw_flight(analysis)
        self._enable_flight_actions(True)
        self._update_prediction()
        self.shown.emit(self.title_label.text())

    def _draw_flight(self, analysis):
        for plot in self.plots.values():
            plot.clear()
        self.curves = {}
        flight = analysis.flight
        keep = ~analysis.rejected
        self._curve("altitude", "measured", flight.t_s[keep], flight.altitude_m[keep],
                    pen=None, symbol="o", symbolSize=MEASURED_SYMBOL_PX,
                    symbolPen=None, symbolBrush=pg.mkBrush(COLOURS[6]))
        if np.any(analysis.rejected):
            self._curve("altitude", "rejected", flight.t_s[~keep], flight.altitude_m[~keep],
                        pen=None, symbol="x", symbolSize=3 * MEASURED_SYMBOL_PX,
                        symbolPen=pg.mkPen(COLOURS[1], width=2), symbolBrush=None)
        grid = analysis.grid_t_s
        self._curve("altitude", "altitude (smoothed)", grid, analysis.grid_altitude_m,
                    pen=self._pen(COLOURS[0]))
        self._curve("speed", "vertical speed", grid, analysis.grid_velocity_ms,
                    pen=self._pen(COLOURS[1]))
        self._curve("acceleration", "acceleration", grid, analysis.grid_accel_ms2,
                    pen=self._pen(COLOURS[2]))
        if flight.accel_ms2 is not None:
            self._curve("acceleration", "accelerometer", flight.t_s, flight.accel_ms2,
                        pen=self._pen(COLOURS[3], width=2))
        self._draw_bridges(analysis.bridges)
        self._draw_events(analysis.events)
        for plot in self.plots.values():
            plot.enableAutoRange()

    def _pen(self, colour, width=CURVE_WIDTH_PX, style=Qt.PenStyle.SolidLine):
        return pg.mkPen(colour, width=width, style=style)

    def _curve(self, plot_name, name, t_s, values, **style):
        item = self.plots[plot_name].plot(np.asarray(t_s, dtype=np.float64),
                                          np.asarray(values, dtype=np.float64),
                                          name=name, **style)
        self.curves[name] = item
        return item

    def _draw_bridges(self, bridges):
        for name, plot in self.plots.items():
            self.bridge_regions[name] = []
            for t0_s, t1_s, why in bridges:
                region = pg.LinearRegionItem(values=(float(t0_s), float(t1_s)), movable=False,
                                             brush=pg.mkBrush(*BRIDGE_BRUSH_RGBA),
                                             pen=pg.mkPen(None))
                region.setToolTip("bridged: %s" % why)
                region.setZValue(-10)  # behind the curves
                plot.addItem(region)
                self.bridge_regions[name].append(region)

    def _draw_events(self, events):
        pen = self._pen("k", width=EVENT_LINE_WIDTH_PX, style=Qt.PenStyle.DashLine)
        for name, plot in self.plots.items():
            self.event_lines[name] = []
            for k, event in enumerate(e for e in events if math.isfinite(e.t_s)):
                position = EVENT_LABEL_POSITIONS[k % len(EVENT_LABEL_POSITIONS)]
                line = pg.InfiniteLine(pos=float(event.t_s), angle=90, movable=False, pen=pen,
                                       label=event.name,
                                       # no fill: labels must not hide the curves
                                       labelOpts={"position": position, "color": "k"})
                plot.addItem(line)
                self.event_lines[name].append(line)

    # --- the prediction ---------------------------------------------------------------------
    def set_rocket_file(self, path):
        """Compare the flight with the rocket file at `path` (coalwood predict
        --save-rocket); True if drawn. A bad file: one line, and the overlay is off."""
        try:
            spec = rocket_spec.load(path)
        except rocket_spec.SpecError as exc:
            self._spec = None
            self._update_prediction()
            return self._fail(exc)
        return self.set_prediction_source(spec)

    def set_prediction_source(self, spec):
        """Compare every flight shown with `spec` (a RocketSpec; None for no comparison),
        e.g. the simulated board's sample rocket for its motor. True unless the rocket
        cannot be flown for the flight on screen (then one line, and the overlay is off)."""
        self._spec = spec
        return self._update_prediction()

    def _update_prediction(self):
        self.prediction = None
        failure = None
        if self._spec is not None and self.analysis is not None:
            try:
                self.prediction = prediction_for(self.analysis, self._spec)
            except TrajectoryError as exc:
                failure = "%s: %s" % (self._spec.source or "the rocket", exc)
                self._spec = None
        self._draw_prediction()
        self._show_prediction_rows(self.prediction)
        if failure is not None:
            return self._fail(failure)
        return True

    def _draw_prediction(self):
        old = self.curves.pop("predicted", None)
        if old is not None:
            self.plots["altitude"].removeItem(old)
        if self.prediction is None:
            return
        name, t_s, z_m = self.prediction.curve_over(self.analysis)
        item = self.plots["altitude"].plot(
            t_s, z_m, name=name,
            pen=self._pen(COLOURS[4], style=Qt.PenStyle.DashLine))
        self.curves["predicted"] = item

    def _show_prediction_rows(self, prediction):
        shown = prediction is not None
        for widget in (self.prediction_label, self.prediction_table):
            widget.setVisible(shown)
        self.prediction_warnings.setVisible(shown and bool(prediction.warnings))
        if not shown:
            self.prediction_table.setRowCount(0)
            return
        self.prediction_label.setText(prediction.heading())
        _fill_table(self.prediction_table, prediction.rows())
        self.prediction_warnings.setText("\n".join("warning: %s" % w
                                                   for w in prediction.warnings))

    # --- export ------------------------------------------------------------------------------
    def export_csv(self, path):
        """The flight's samples, smoothed, as the command's CSV (SI units); True if written."""
        if self.analysis is None:
            return self._fail("no flight shown to export")
        path = os.fspath(path)
        try:
            write_csv(self.analysis, path)
        except OSError as exc:
            return self._fail("cannot write %s: %s" % (path, exc.strerror or exc))
        self._say("wrote %s" % path, "info")
        return True

    def export_png(self, path, width_px=DEFAULT_PNG_SIZE_PX[0], height_px=DEFAULT_PNG_SIZE_PX[1]):
        """The command's PNG of the flight (with the prediction when one is shown), exactly
        width_px x height_px; True if written."""
        if self.analysis is None:
            return self._fail("no flight shown to export")
        path = os.fspath(path)
        try:
            write_overlay(self.analysis, self.prediction, path, width_px, height_px)
        except PlotError as exc:
            return self._fail("PNG: %s" % exc)
        except OSError as exc:
            return self._fail("cannot write %s: %s" % (path, exc.strerror or exc))
        self._say("wrote %s" % path, "info")
        return True

    # --- file dialogs ------------------------------------------------------------------------
    def _file_dialog(self, caption, name_filter, on_chosen, save_suffix=None, name=""):
        """A non-native, window-modal file dialog (the same on every desktop, and drivable
        in tests); `on_chosen(path)` runs when a file is picked."""
        dialog = QtWidgets.QFileDialog(self, caption, os.path.join(self._last_dir, name),
                                       name_filter)
        dialog.setOption(QtWidgets.QFileDialog.Option.DontUseNativeDialog, True)
        if save_suffix is None:
            dialog.setFileMode(QtWidgets.QFileDialog.FileMode.ExistingFile)
        else:
            dialog.setAcceptMode(QtWidgets.QFileDialog.AcceptMode.AcceptSave)
            dialog.setDefaultSuffix(save_suffix)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)

        def chosen(path):
            self._last_dir = os.path.dirname(path)
            on_chosen(path)

        dialog.fileSelected.connect(chosen)
        dialog.open()
        return dialog

    def _export_name(self, suffix):
        source = self.analysis.flight.source if self.analysis is not None else None
        stem = os.path.splitext(os.path.basename(source))[0] if source else "flight"
        return "%s.%s" % (stem, suffix)

    def choose_flight_file(self):
        """Ask for a flight log and show it."""
        return self._file_dialog("Open a flight log", LOG_FILTER, self.show_file)

    def choose_rocket_file(self):
        """Ask for a rocket file and draw its prediction over the flight."""
        return self._file_dialog("Compare with a rocket file", "Rocket files (*.json);;"
                                 "All files (*)", self.set_rocket_file)

    def choose_csv_file(self):
        """Ask where to write the CSV and write it."""
        return self._file_dialog("Export the flight as CSV", "CSV files (*.csv)",
                                 self.export_csv, save_suffix="csv",
                                 name=self._export_name("csv"))

    def choose_png_file(self):
        """Ask where to write the PNG (DEFAULT_PNG_SIZE_PX) and write it."""
        return self._file_dialog("Export the plots as PNG", "PNG images (*.png)",
                                 self.export_png, save_suffix="png",
                                 name=self._export_name("png"))


__all__ = ["DEFAULT_PNG_SIZE_PX", "FlightView"]
