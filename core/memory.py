"""A serving process gives large freed blocks back to the system, so that one login does not keep m resident.

Each Argon2id hash allocates its memory cost (19 MiB by default) and frees it when done. glibc's malloc
serves a block that large with a private mmap, unmapped when freed, but only until the first such free:
then it raises its mmap threshold to that block's size (up to 32 MiB), and every later hash's block comes
from the heap, where it stays resident after the hash (measured: +19 MiB per worker from its second login
on, bench/worker_memory.py). Setting the threshold once turns that adjustment off.
"""

import ctypes

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
# Blocks of this size or more get their own mapping. Python's objects are far smaller (pymalloc serves up
# to 512 bytes, and a page's HTML is a few hundred KB); an Argon2 block is at least 19 MiB.
LARGE_BLOCK = 1024 * 1024


def return_large_blocks() -> bool:
    """Fix malloc's mmap threshold at LARGE_BLOCK; False where the C library has no ``mallopt`` (not glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK) == 1
