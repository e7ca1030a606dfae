"""Task functions for the isolation tests (workers import them by module name)."""

import os
import signal
import time


def well_behaved(value):
    return value * 2


def hangs(seconds):
    time.sleep(seconds)
    return "woke up"


def crashes(_):
    os.kill(os.getpid(), signal.SIGSEGV)


def allocates(megabytes):
    blob = bytearray(megabytes * 2**20)
    return len(blob)


def raises(message):
    raise ValueError(message)


def dispatch(kind, argument):
    return {"ok": well_behaved, "hang": hangs, "crash": crashes, "alloc": allocates, "raise": raises}[kind](argument)
