"""A FilesystemLock guarding a LogFile that rotates by size."""

import os
import tempfile

from glisten.python import lockfile, logfile


def main():
    directory = tempfile.mkdtemp()
    lock = lockfile.FilesystemLock(os.path.join(directory, "app.lock"))
    print("locked:", lock.lock(), "clean:", lock.clean)
    print("someone else sees it locked:", lockfile.isLocked(os.path.join(directory, "app.lock")))
    log = logfile.LogFile("app.log", directory, rotateLength=40, maxRotatedFiles=3)
    for i in range(12):
        log.write("entry number %02d\n" % (i,))
    log.close()
    print("rotated:", log.listLogs())
    for n in log.listLogs():
        print(n, open(os.path.join(directory, "app.log.%d" % (n,))).read().split("\n")[:-1])
    print("current:", open(os.path.join(directory, "app.log")).read().split("\n")[:-1])
    lock.unlock()
    print("unlocked:", not lockfile.isLocked(os.path.join(directory, "app.lock")))


if __name__ == "__main__":
    main()
