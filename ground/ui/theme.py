"""The window's one look: high contrast, large, readable in sunlight at the pad.

Black on white with heavy borders (a dark theme washes out in sun); colour only ever
repeats what text and shape already say, so a colour-blind operator or a washed-out
screen loses nothing. Widgets never set colours themselves: they carry an objectName
or a dynamic property `role` (and `level` for banners) and this stylesheet styles them.

    role=abort       the ABORT button: always the loudest thing on screen
    role=fire        the hold-to-fire control
    role=arm         ARM
    role=countdown   the countdown digits
    role=banner      a state line; level = ok | info | warn | danger
    role=readout     large live numbers (altitude, speed, battery)
    role=heading     a panel's title
    role=status      a panel's one-line message; role=error the same saying something failed
"""

from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication

BASE_POINT_SIZE = 12

STYLESHEET = """
QWidget { color: #000000; background: #ffffff; }
QMainWindow::separator { background: #000000; width: 3px; height: 3px; }
QGroupBox { border: 2px solid #000000; margin-top: 1.2em; padding: 6px; font-weight: bold; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; }
QPushButton { border: 2px solid #000000; border-radius: 4px; padding: 6px 14px;
              background: #f0f0f0; font-weight: bold; }
QPushButton:focus { border: 3px solid #0033cc; }
QPushButton:pressed { background: #c8c8c8; }
QPushButton:disabled { color: #6b6b6b; border: 2px dashed #6b6b6b; background: #ffffff; }
QLineEdit, QComboBox, QSpinBox, QPlainTextEdit, QTableWidget, QTableView, QListWidget {
    border: 2px solid #000000; selection-background-color: #0033cc; selection-color: #ffffff; }
QHeaderView::section { background: #e6e6e6; border: 1px solid #000000; font-weight: bold;
                       padding: 3px; }
QTabBar::tab { border: 2px solid #000000; padding: 6px 16px; font-weight: bold; }
QTabBar::tab:selected { background: #000000; color: #ffffff; }
QToolTip { color: #000000; background: #ffffcc; border: 1px solid #000000; }

*[role="abort"] { background: #b00000; color: #ffffff; border: 4px solid #000000;
                  font-size: 28pt; font-weight: 900; min-height: 2.2em; }
*[role="abort"]:pressed { background: #700000; }
*[role="abort"][compact="true"] { font-size: 16pt; min-height: 1.4em; border-width: 3px; }
*[role="fire"] { background: #ffb000; color: #000000; border: 4px solid #000000;
                 font-size: 24pt; font-weight: 900; min-height: 2.2em; }
*[role="fire"]:pressed { background: #ff6a00; }
*[role="fire"]:disabled { background: #ffffff; color: #6b6b6b; border: 3px dashed #6b6b6b; }
*[role="arm"] { background: #ffe600; color: #000000; border: 3px solid #000000;
                font-size: 18pt; font-weight: 900; }
*[role="arm"]:disabled { background: #ffffff; color: #6b6b6b; border: 2px dashed #6b6b6b; }
*[role="countdown"] { font-size: 96pt; font-weight: 900; font-family: "DejaVu Sans Mono", monospace; }
*[role="readout"] { font-size: 20pt; font-weight: bold; font-family: "DejaVu Sans Mono", monospace; }
*[role="heading"] { font-size: 14pt; font-weight: 900; }
*[role="status"] { font-weight: bold; }
*[role="error"] { font-weight: 900; background: #b00000; color: #ffffff; padding: 3px; }
*[role="banner"] { font-size: 18pt; font-weight: 900; border: 3px solid #000000; padding: 6px; }
*[role="banner"][level="ok"] { background: #d9f2d9; }
*[role="banner"][level="info"] { background: #ffffff; }
*[role="banner"][level="warn"] { background: #ffe600; }
*[role="banner"][level="danger"] { background: #b00000; color: #ffffff; }
"""


def apply(app=None):
    """Give the application the theme (font, palette and stylesheet)."""
    app = app or QApplication.instance()
    font = QFont(app.font())
    font.setPointSize(BASE_POINT_SIZE)
    app.setFont(font)
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#ffffff"),
                         (QPalette.ColorRole.WindowText, "#000000"),
                         (QPalette.ColorRole.Base, "#ffffff"),
                         (QPalette.ColorRole.Text, "#000000"),
                         (QPalette.ColorRole.Button, "#f0f0f0"),
                         (QPalette.ColorRole.ButtonText, "#000000"),
                         (QPalette.ColorRole.Highlight, "#0033cc"),
                         (QPalette.ColorRole.HighlightedText, "#ffffff")):
        palette.setColor(role, colour)
    app.setPalette(palette)
    app.setStyleSheet(STYLESHEET)


def restyle(widget, **props):
    """Set dynamic properties the stylesheet styles by (`role`, `level`, ...) and make the
    style look again: Qt re-reads a dynamic property only on a re-polish."""
    changed = False
    for name, value in props.items():
        if widget.property(name) != value:
            widget.setProperty(name, value)
            changed = True
    if changed:
        style = widget.style()
        style.unpolish(widget)
        style.polish(widget)
        widget.update()
