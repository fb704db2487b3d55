# A Raspberry Pi Pico (RP2040) with a 256 KiB ROMFS partition: see mpconfigboard.h
set(PICO_BOARD "pico")
set(PICO_PLATFORM "rp2040")
