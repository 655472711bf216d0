"""A large batch's stages run each in a process of its own (forked), as Airflow runs each task.

In the one process of `screenfuse run`, what a stage allocated stays partly held after it ends
(Python's and Arrow's heaps give back only whole free areas): in a first load of 1,000,000 records
the fuse stage peaked about 0.4 GB higher after ingest and resolve than on its own. A child process
gives everything back when it exits. A fork costs milliseconds, but an hour with few files runs
in the process: its stages hold little, and every second of such an hour counts.
"""
from __future__ import annotations

import pickle
import traceback
from multiprocessing import get_context

VARIABLE = "SCREENFUSE_STAGE_PROCESS_MB"
DEFAULT_MB = 64.0  # files of about 200,000 mass-screening rows; an hour of 10,000 records is about 3 MB


def isolate(batch_bytes: int) -> bool:
    """Whether a batch whose files hold `batch_bytes` runs its stages in child processes
    (SCREENFUSE_STAGE_PROCESS_MB, default 64; 0: every batch)."""
    from screenfuse.config import number_from_env

    return batch_bytes >= number_from_env(VARIABLE, DEFAULT_MB, "megabytes") * 2**20


class StageTraceback(Exception):
    """Where a stage run in a child process failed (the child's traceback, as text)."""


def call(isolated: bool, engine, stage, *args, **kwargs):
    """`stage(*args, **kwargs)`, in a forked child when `isolated`; its result or its error as if
    run here. The parent's pooled connections to `engine` are closed first (a connection must not
    be shared across a fork: the child opens its own), and the child closes its own before it ends
    (on SQLite the last close folds the write-ahead log into the database; left open, the next
    connection pays for it)."""
    if not isolated:
        return stage(*args, **kwargs)
    engine.dispose()
    context = get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_in_child, args=(send, engine, stage, args, kwargs), name=f"screenfuse {stage.__name__}")
    child.start()
    send.close()
    try:
        done, value, where = receive.recv()
    except EOFError:
        child.join()
        raise RuntimeError(f"the stage {stage.__name__} ended without an answer: its process was killed (exit code "
                           f"{child.exitcode}; out of memory?); the batch is not published, run it again") from None
    finally:
        receive.close()
    child.join()
    if done:
        return value
    raise value from StageTraceback(where)


def _in_child(send, engine, stage, args, kwargs) -> None:
    """Run the stage and send back (True, result, "") or (False, error, traceback text). An error
    the parent could not rebuild (an exception whose arguments are not its message) goes back as a
    RuntimeError with the same text."""
    try:
        answer = (True, stage(*args, **kwargs), "")
    except BaseException as exc:  # noqa: BLE001 - every ending goes back to the parent, even an interrupt
        answer = (False, exc, traceback.format_exc())
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - any failure to carry it: send its text instead
            answer = (False, RuntimeError(f"{type(exc).__name__}: {exc}"), answer[2])
    finally:
        engine.dispose()
    try:
        send.send(answer)
    except Exception as exc:  # noqa: BLE001 - an answer that cannot travel is an error, not a silent child
        send.send((False, RuntimeError(f"the stage {stage.__name__} finished but its answer could not be sent back "
                                       f"({type(exc).__name__})"), ""))
    send.close()
