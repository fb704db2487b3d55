"""The motor files that ship with Coalwood (RASP .eng, package data).

    from ground.trajectory import motors
    motors.available()      # ['AeroTech_H128W', 'AeroTech_J350W', 'Estes_C6']
    motors.load("C6")       # by file name or motor designation, any case

Each file's comments name its source figures and say how the curve was made
(generate.py rebuilds them from published totals).
"""

from importlib import resources

from ground.trajectory.motor import EngError, parse_eng


def _files():
    return {entry.name[:-4]: entry for entry in resources.files(__name__).iterdir()
            if entry.name.endswith(".eng")}


def available():
    """The bundled motors' names (file names without .eng), sorted."""
    return sorted(_files())


def read_text(name):
    """The bundled file's text, comments and all."""
    return _find(name)[1].read_text(encoding="utf-8")


def _find(name):
    files = _files()
    key = str(name).strip()
    if key.lower().endswith(".eng"):
        key = key[:-4]
    for stem, entry in files.items():
        if stem.lower() == key.lower():
            return stem, entry
    for stem, entry in files.items():  # by designation: the part after the maker
        if stem.split("_", 1)[-1].lower() == key.lower():
            return stem, entry
    raise EngError("no bundled motor %r (available: %s)" % (name, ", ".join(sorted(files))))


def file_name(name):
    """The bundled file's name (without .eng) for `name` (file name or designation, any case)."""
    return _find(name)[0]


def load(name):
    """The bundled Motor called `name` (file name or designation, any case); EngError if none."""
    stem, entry = _find(name)
    return parse_eng(entry.read_text(encoding="utf-8"), source="motors/%s.eng" % stem)[0]
