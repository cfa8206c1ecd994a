"""measure.py: the fallback for `/usr/bin/time -o FILE -f '%e %M'` when GNU time is missing.

  measure.py OUTFILE CMD...   runs CMD (stdout/stderr inherited), writes "WALL_S MAXRSS_KB USER_S SYS_S" to
                              OUTFILE and exits with CMD's status

Peak RSS is ru_maxrss of RUSAGE_CHILDREN: the largest single process waited for, as GNU time reports.
"""
import resource
import subprocess
import sys
import time

if len(sys.argv) < 3:
    sys.exit("usage: measure.py OUTFILE CMD...")
t0 = time.monotonic()
rc = subprocess.call(sys.argv[2:])
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%.2f %d %.2f %.2f\n" % (wall, ru.ru_maxrss, ru.ru_utime, ru.ru_stime))
sys.exit(rc if rc >= 0 else 128 - rc)
