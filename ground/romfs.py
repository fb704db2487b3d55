"""ROMFS images of the compiled firmware, with mpremote's builder.

A board whose MicroPython has a ROMFS partition (MICROPY_VFS_ROM: the ESP32_GENERIC ROMFS
firmware, or a Pico firmware built with one, hardware/micropython/) runs .mpy files
from it in place: their bytecode and constant strings stay in flash instead of being
copied into the heap on import. That is most of the firmware's RAM after boot (see
ground/footprint.py), so `coalwood flash` puts the packages there when it can, and
the footprint is measured from the same image.
"""

import os

# The image's files carry the packages' own paths (firmware/app.mpy, protocol/...): the
# board mounts the image at /rom and puts /rom on sys.path.
MOUNT_POINT = "/rom"


def build_image(tree):
    """The ROMFS image (bytes) of every file under the folder `tree`, paths kept.

    The files go in as they are (already compiled: .mpy), in name order, as
    `mpremote romfs build` lays them out.
    """
    from mpremote.romfs import VfsRomWriter

    writer = VfsRomWriter()
    _add_tree(writer, str(tree))
    return writer.finalise()


def _add_tree(writer, folder):
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            if name == "__pycache__":
                continue
            writer.opendir(name)
            _add_tree(writer, path)
            writer.closedir()
        else:
            with open(path, "rb") as f:
                writer.mkfile(name, f.read())
