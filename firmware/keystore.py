"""The device's MAC key on the board's filesystem: <storage_path>/key.bin, 32 bytes.

Written under a temporary name, then renamed over the old file, so a power cut
leaves either the old key or the new one, never half of each. A missing or
wrong-sized file means no key (unkeyed), which SET_KEY over a cable can mend.
"""

import os

KEY_FILE = "key.bin"
KEY_LEN = 32


class KeyStore:
    def __init__(self, root):
        self.path = root.rstrip("/") + "/" + KEY_FILE

    def read_key(self):
        try:
            with open(self.path, "rb") as f:
                key = f.read()
        except OSError:
            return None
        return key if len(key) == KEY_LEN else None

    def write_key(self, key):
        if key is None:
            try:
                os.remove(self.path)
            except OSError:
                pass  # already unkeyed
            return
        tmp = self.path + ".new"
        with open(tmp, "wb") as f:
            f.write(bytes(key))
        os.rename(tmp, self.path)
