"""Executes one notebook in the rapaio Java kernel; called by notebooks/execute.

    /usr/bin/python3 notebooks/execute_notebook.py NOTEBOOK OUTPUT KERNEL_LOG

Runs NOTEBOOK with its own folder as the working directory (as Jupyter does) and writes the
executed notebook to OUTPUT (which may be NOTEBOOK itself). A cell error exits 1 (OUTPUT, when it
is another file, then holds the cells executed up to the error).

Why not `jupyter nbconvert --execute`: rapaio 3.0.1 starts its shell channel's thread before it
registers its message handlers (Channels.connect). A client sends kernel_info as soon as the kernel
process starts, so the request is already waiting when the shell socket binds; if it is read inside
that window the shell thread dies of a NullPointerException and the kernel never answers ("Kernel
didn't respond in 20 seconds"). On a loaded machine that happens on most starts. Here the kernel is
started first, with its log in KERNEL_LOG, and the client connects only once every channel is
bound; a start that still fails that way (the shell thread died, or no kernel_info reply) is
retried, up to 7 times, and nothing else is (about one start in five missed it in the
fresh-clone runs of the test command, loaded or idle).
"""

import os
import sys
import time

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ATTEMPTS = 8                 # the first start and up to 7 retries
BIND_TIMEOUT = 120           # seconds for the JVM to start and bind its five channels
SETTLE = 1.0                 # seconds between the last bind and the first request
CELL_TIMEOUT = 600
SHELL_DIED = 'Exception in thread "Shell-0"'
CHANNELS = ("[HeartbeatChannel]: Binding", "[ShellChannel]: Binding", "[StdinChannel]: Binding",
            "[ControlChannel]: Binding", "[IOPubChannel]: Binding")


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def start_kernel(cwd, kernel_log):
    km = KernelManager(kernel_name="java")
    with open(kernel_log, "w") as log:
        km.start_kernel(cwd=cwd, stdout=log, stderr=log)
    deadline = time.time() + BIND_TIMEOUT
    while not all(c in read(kernel_log) for c in CHANNELS):
        if not km.is_alive():
            raise RuntimeError("the kernel exited while starting; its log: " + kernel_log)
        if time.time() > deadline:
            km.shutdown_kernel(now=True)
            raise RuntimeError("the kernel bound no channels in %d s; its log: %s" % (BIND_TIMEOUT, kernel_log))
        time.sleep(0.2)
    time.sleep(SETTLE)
    return km


def coalesce_streams(nb):
    """Joins consecutive stdout (or stderr) outputs of a cell into one, as Jupyter's front ends
    show them: the kernel sends a print's pieces as separate messages when the machine is busy,
    and the written notebook should not depend on that."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.get("outputs", []):
            if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == out.name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged


def execute(src, dst, kernel_log):
    cwd = os.path.dirname(os.path.abspath(src))
    for attempt in range(1, ATTEMPTS + 1):
        nb = nbformat.read(src, as_version=4)
        km = start_kernel(cwd, kernel_log)
        client = NotebookClient(nb, km=km, kernel_name="java", timeout=CELL_TIMEOUT, startup_timeout=20,
                                record_timing=False, resources={"metadata": {"path": cwd}})
        try:
            client.execute()
        except CellExecutionError as e:
            print(e, file=sys.stderr)
            if os.path.abspath(dst) != os.path.abspath(src):
                coalesce_streams(nb)
                nbformat.write(nb, dst)     # the executed cells up to the error, for a look
            return 1
        except RuntimeError as e:
            if SHELL_DIED not in read(kernel_log) and "Kernel didn't respond in" not in str(e):
                raise
            if attempt == ATTEMPTS:
                print("the kernel never answered kernel_info in %d starts; its log: %s" % (ATTEMPTS, kernel_log),
                      file=sys.stderr)
                return 1
            print("  the kernel missed its kernel_info reply; retry %d of %d" % (attempt, ATTEMPTS - 1), flush=True)
            continue
        finally:
            if km.is_alive():
                km.shutdown_kernel(now=False)
        coalesce_streams(nb)
        nbformat.write(nb, dst)
        return 0
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(execute(*sys.argv[1:]))
