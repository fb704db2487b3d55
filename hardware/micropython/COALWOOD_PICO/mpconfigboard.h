// A Raspberry Pi Pico whose MicroPython has a ROMFS partition for Coalwood's firmware.
//
// `coalwood flash` writes the compiled firmware/ and protocol/ packages into the ROMFS
// partition when the board has one (vfs.rom_ioctl), and MicroPython then runs their
// bytecode in place from flash: about 35 KiB less heap after boot than .mpy files in the
// filesystem. The partition is taken from the end of the 1408 KiB flash filesystem,
// which keeps 1152 KiB for /data (a 3-minute flight at 100 Hz logs under 500 KiB).
#define MICROPY_HW_BOARD_NAME                   "Raspberry Pi Pico"
#define MICROPY_HW_ROMFS_BYTES                  (256 * 1024)
#define MICROPY_HW_FLASH_STORAGE_BYTES          (1408 * 1024 - MICROPY_HW_ROMFS_BYTES)
