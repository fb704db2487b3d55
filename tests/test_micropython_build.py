"""hardware/micropython/: the frozen-build manifest and the Pico ROMFS board definition.

Neither can be built here (that needs MicroPython's source and a cross compiler), so these
tests check what can go wrong on this side: the manifest names this checkout's packages,
and the ROMFS partition is a valid size that holds the image `coalwood flash` writes.
"""

import re

import pytest

from ground import footprint, romfs

BUILD_DIR = footprint.ROOT / "hardware" / "micropython"
KIB = 1024
PICO_STOCK_STORAGE_BYTES = 1408 * KIB  # RPI_PICO's MICROPY_HW_FLASH_STORAGE_BYTES


def _manifest_calls():
    """Run the manifest with MicroPython's manifest functions recording their calls."""
    calls = []
    namespace = {
        "include": lambda path, **kw: calls.append(("include", path, kw)),
        "package": lambda path, files=None, base_path=".", opt=None: calls.append(
            ("package", path, {"base_path": base_path, "files": files})),
        "module": lambda path, base_path=".", opt=None: calls.append(
            ("module", path, {"base_path": base_path})),
    }
    source = (BUILD_DIR / "manifest.py").read_text()
    exec(compile(source, str(BUILD_DIR / "manifest.py"), "exec"), namespace)
    return calls


def test_the_manifest_freezes_both_packages_of_this_checkout_and_the_ports_own():
    calls = _manifest_calls()
    assert ("include", "$(PORT_DIR)/boards/manifest.py", {}) in calls
    packages = {}
    for kind, path, kw in calls:
        if kind == "package":
            packages[path] = (BUILD_DIR / kw["base_path"] / path).resolve()
        assert kind != "module", "single modules would miss the packages' structure"
    assert packages == {"firmware": footprint.ROOT / "firmware",
                        "protocol": footprint.ROOT / "protocol"}
    for path in packages.values():
        assert (path / "__init__.py").is_file()


def _defines():
    text = (BUILD_DIR / "COALWOOD_PICO" / "mpconfigboard.h").read_text()
    out = {}
    for name, expr in re.findall(r"^#define\s+(\w+)\s+(.+?)\s*$", text, re.M):
        out[name] = expr
    return out


def test_the_pico_romfs_partition_is_whole_flash_sectors_taken_from_the_filesystem():
    defines = _defines()
    romfs_bytes = eval(defines["MICROPY_HW_ROMFS_BYTES"])  # plain arithmetic on literals
    storage = eval(defines["MICROPY_HW_FLASH_STORAGE_BYTES"].replace(
        "MICROPY_HW_ROMFS_BYTES", str(romfs_bytes)))
    assert romfs_bytes % 4096 == 0 and storage % 4096 == 0  # the rp2 port's static_asserts
    assert romfs_bytes + storage == PICO_STOCK_STORAGE_BYTES
    assert storage >= 1024 * KIB  # room for flight logs
    cmake = (BUILD_DIR / "COALWOOD_PICO" / "mpconfigboard.cmake").read_text()
    assert 'set(PICO_PLATFORM "rp2040")' in cmake


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tree = tmp_path_factory.mktemp("romfs-tree")
    footprint._compile(footprint.ROOT, str(tree))
    return romfs.build_image(tree)


def test_the_romfs_image_of_this_firmware_fits_the_partition_with_room_to_grow(image):
    romfs_bytes = eval(_defines()["MICROPY_HW_ROMFS_BYTES"])
    assert image.startswith(b"\xd2\xcd\x31")  # the ROMFS magic
    assert len(image) * 2 <= romfs_bytes, (len(image), romfs_bytes)


def test_the_image_holds_every_compiled_module_under_its_package_path(image):
    # verbatim files: the image is at least their sum, and every module's name is in it
    assert len(image) >= footprint.mpy_sizes()["mpy_bytes_total"]
    for rel in footprint.source_files():
        parts = rel[:-3].split("/")
        assert parts[-1].encode() + b".mpy" in image, rel
