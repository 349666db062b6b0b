"""Run under ``umockdev-wrapper``: a fake BD burner gets a blank DVD+R while Ardis waits for it.

argv: repo root, device description file, seconds before the disc arrives
("never" to test the timeout). Prints what media.drives saw, one line each.
"""

import sys
import threading
import time

sys.path.insert(0, sys.argv[1])
sys.path.append("/usr/lib/python3/dist-packages")  # Debian's python3-gi for the UMockdev GI API
import gi  # noqa: E402

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

from media.drives import find_optical_drives, wait_for_blank  # noqa: E402
from media.errors import NoMediaLoaded  # noqa: E402

testbed = UMockdev.Testbed.new()
testbed.add_from_file(sys.argv[2])
syspath = "/sys/devices/pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sr0"


def load() -> None:
    time.sleep(float(sys.argv[3]))
    for key, value in (("ID_CDROM_MEDIA", "1"), ("ID_CDROM_MEDIA_DVD_PLUS_R", "1"), ("ID_CDROM_MEDIA_STATE", "blank")):
        testbed.set_property(syspath, key, value)
    testbed.uevent(syspath, "change")


print("before", find_optical_drives()[0])
if sys.argv[3] != "never":
    threading.Thread(target=load, daemon=True).start()
start = time.monotonic()
try:
    info = wait_for_blank("/dev/sr0", "DVD", timeout=1.0 if sys.argv[3] == "never" else 20.0)
    print("loaded", info, round(time.monotonic() - start, 2))
except NoMediaLoaded as e:
    print("timeout", e)
print("after", find_optical_drives()[0])
